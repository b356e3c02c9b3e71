import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A blocking TCP connection to 127.0.0.1 with a receive timeout, for speaking to a debugger
/// (DevTools WebSocket, DAP) over a forwarded port in tests. Use it off the cooperative pool
/// (``DebuggerClients/blocking(_:)``).
final class RawTCP: @unchecked Sendable {
    private let fd: CInt
    private var buffer: [UInt8] = []

    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    init(port: Int, timeoutSeconds: Int = 10) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw Failure(description: "socket failed: errno \(errno)") }
        var timeout = timeval(tv_sec: timeoutSeconds, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard result == 0 else {
            let code = errno
            Glibc.close(fd)
            throw Failure(description: "connect to 127.0.0.1:\(port) failed: \(String(cString: strerror(code)))")
        }
    }

    deinit { close() }

    private let closed = NSLock()
    private var isClosed = false

    /// Closes the connection (also done at deinit).
    func close() {
        closed.lock()
        defer { closed.unlock() }
        guard !isClosed else { return }
        isClosed = true
        Glibc.close(fd)
    }

    func write(_ bytes: [UInt8]) throws {
        var offset = 0
        while offset < bytes.count {
            let sent = bytes[offset...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            guard sent > 0 else { throw Failure(description: "send failed: errno \(errno)") }
            offset += sent
        }
    }

    func write(_ text: String) throws { try write(Array(text.utf8)) }

    /// Reads exactly `count` bytes.
    func read(_ count: Int) throws -> [UInt8] {
        while buffer.count < count { try fill() }
        defer { buffer.removeFirst(count) }
        return Array(buffer[0..<count])
    }

    /// Reads up to and including `delimiter`.
    func read(until delimiter: String) throws -> String {
        let marker = Array(delimiter.utf8)
        while true {
            if let range = find(marker) {
                let bytes = Array(buffer[0..<range])
                buffer.removeFirst(range)
                return String(decoding: bytes, as: UTF8.self)
            }
            try fill()
        }
    }

    private func find(_ marker: [UInt8]) -> Int? {
        guard buffer.count >= marker.count else { return nil }
        for start in 0...(buffer.count - marker.count) where Array(buffer[start..<start + marker.count]) == marker {
            return start + marker.count
        }
        return nil
    }

    private func fill() throws {
        var chunk = [UInt8](repeating: 0, count: 65536)
        let received = chunk.withUnsafeMutableBytes { Glibc.recv(fd, $0.baseAddress, $0.count, 0) }
        guard received > 0 else {
            throw Failure(description: received == 0 ? "the connection closed" : "receive failed (timeout?): errno \(errno)")
        }
        buffer.append(contentsOf: chunk[0..<received])
    }
}

/// Minimal debugger clients: a DevTools WebSocket (RFC 6455 client frames) and DAP messages.
enum DebuggerClients {
    /// Runs blocking socket work on its own thread.
    static func blocking<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            Thread.detachNewThread { continuation.resume(with: Result { try work() }) }
        }
    }

    /// A WebSocket to the inspector at `path` (from `webSocketDebuggerUrl`).
    final class DevTools: @unchecked Sendable {
        let connection: RawTCP
        private var nextID = 1

        init(port: Int, path: String) throws {
            connection = try RawTCP(port: port)
            let key = Data((0..<16).map { _ in UInt8.random(in: 0...255) }).base64EncodedString()
            try connection.write(
                "GET \(path) HTTP/1.1\r\nHost: 127.0.0.1:\(port)\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                    + "Sec-WebSocket-Key: \(key)\r\nSec-WebSocket-Version: 13\r\n\r\n"
            )
            let head = try connection.read(until: "\r\n\r\n")
            guard head.hasPrefix("HTTP/1.1 101") else { throw RawTCP.Failure(description: "no WebSocket upgrade: \(head)") }
        }

        /// Sends a DevTools command and waits for its response, collecting the events before it.
        @discardableResult
        func command(_ method: String, events: inout [[String: Any]]) throws -> [String: Any] {
            let id = nextID
            nextID += 1
            let json = try JSONSerialization.data(withJSONObject: ["id": id, "method": method, "params": [String: Any]()])
            try sendText(Array(json))
            while true {
                let message = try receive()
                if message["id"] as? Int == id { return message }
                events.append(message)
            }
        }

        /// Waits for the event `method`.
        func waitForEvent(_ method: String) throws -> [String: Any] {
            while true {
                let message = try receive()
                if message["method"] as? String == method { return message }
            }
        }

        private func sendText(_ payload: [UInt8]) throws {
            var frame: [UInt8] = [0x81]
            if payload.count < 126 {
                frame.append(0x80 | UInt8(payload.count))
            } else {
                frame.append(0x80 | 126)
                frame.append(UInt8(payload.count >> 8))
                frame.append(UInt8(payload.count & 0xFF))
            }
            let mask = (0..<4).map { _ in UInt8.random(in: 0...255) }
            frame += mask
            frame += payload.enumerated().map { $0.element ^ mask[$0.offset % 4] }
            try connection.write(frame)
        }

        private func receive() throws -> [String: Any] {
            var message: [UInt8] = []
            while true {
                let head = try connection.read(2)
                var length = Int(head[1] & 0x7F)
                if length == 126 {
                    length = try connection.read(2).reduce(0) { $0 << 8 | Int($1) }
                } else if length == 127 {
                    length = try connection.read(8).reduce(0) { $0 << 8 | Int($1) }
                }
                message += try connection.read(length)
                if head[0] & 0x80 != 0 { break }
            }
            return (try JSONSerialization.jsonObject(with: Data(message)) as? [String: Any]) ?? [:]
        }
    }

    /// Sends a DAP `initialize` request to `port` and returns the response.
    static func dapInitialize(port: Int) throws -> [String: Any] {
        let connection = try RawTCP(port: port)
        let body = try JSONSerialization.data(
            withJSONObject: [
                "seq": 1, "type": "request", "command": "initialize",
                "arguments": ["clientID": "swiftlet-test", "adapterID": "debugpy", "linesStartAt1": true, "columnsStartAt1": true],
            ] as [String: Any]
        )
        try connection.write("Content-Length: \(body.count)\r\n\r\n")
        try connection.write(Array(body))
        while true {
            let head = try connection.read(until: "\r\n\r\n")
            guard let line = head.split(separator: "\r\n").first(where: { $0.lowercased().hasPrefix("content-length:") }),
                let length = Int(line.split(separator: ":")[1].trimmingCharacters(in: .whitespaces))
            else { throw RawTCP.Failure(description: "a DAP message without Content-Length: \(head)") }
            let message = (try JSONSerialization.jsonObject(with: Data(try connection.read(length))) as? [String: Any]) ?? [:]
            if message["type"] as? String == "response", message["command"] as? String == "initialize" { return message }
        }
    }
}
