import Foundation
import HTTPTypes
import HummingbirdTesting
import Logging
import NIOCore
import SwiftletCore
import SwiftletGateway
import SwiftletLogs
import SwiftletScheduler
import SwiftletStore
import Testing

/// The gateway's limits on real sockets: rates per client and per function (429 with
/// Retry-After), connections per client, request heads that arrive too slowly (slowloris),
/// bodies that never finish, and heads that are too big.
@Suite("Gateway limits", .serialized)
struct GatewayLimitsTests {
    // MARK: Token buckets and rates

    @Test("a bucket allows its burst, then refills at its rate; keys are independent")
    func buckets() {
        let buckets = TokenBuckets(rate: .init(perSecond: 2, burst: 3))
        let start = ContinuousClock.now
        for _ in 0..<3 { #expect(buckets.take("a", now: start) == nil) }
        let wait = buckets.take("a", now: start)
        #expect(wait != nil && wait! > .milliseconds(400) && wait! <= .milliseconds(500))
        #expect(buckets.take("b", now: start) == nil, "another key has its own bucket")
        #expect(buckets.take("a", now: start + .milliseconds(500)) == nil, "half a second refills one token at 2/s")
        #expect(buckets.take("a", now: start + .milliseconds(500)) != nil)
        #expect(buckets.take("a", now: start + .seconds(60)) == nil, "refilling never passes the burst")
    }

    @Test("a flood of distinct keys stays bounded")
    func boundedKeys() {
        let buckets = TokenBuckets(rate: .init(perSecond: 1000, burst: 1000), maxKeys: 100)
        let start = ContinuousClock.now
        for i in 0..<1000 { _ = buckets.take("client-\(i)", now: start + .milliseconds(i * 10)) }
        #expect(buckets.count <= 101)
    }

    @Test("rates parse as N or N/BURST; anything else is refused", arguments: ["0", "-1", "abc", "", "10/0", "10/x", "nan", "inf", "1e9", "5/"])
    func badRates(_ text: String) {
        #expect(throws: SwiftletError.self) { try GatewayLimits.Rate(parsing: text) }
    }

    @Test func goodRates() throws {
        #expect(try GatewayLimits.Rate(parsing: "100") == .init(perSecond: 100, burst: 100))
        #expect(try GatewayLimits.Rate(parsing: "0.5/3") == .init(perSecond: 0.5, burst: 3))
        #expect(try GatewayLimits.Rate(parsing: "0.5").burst == 1)
    }

    // MARK: On a live gateway

    /// Runs `body` against a gateway with `limits` on a real socket, with the fake provider.
    static func withGateway(_ limits: GatewayLimits, webSocket: Bool = false, corsOrigins: [String] = [], _ body: @escaping @Sendable (any TestClientProtocol, Int) async throws -> Void) async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("swiftlet-limits-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var logger = Logger(label: "limits-test")
        logger.logLevel = .critical
        let store = try SQLiteStore(path: directory + "/swiftlet.db", logger: logger)
        let provider = FakeProvider()
        let scheduler = Scheduler(provider: provider, configuration: .init(readinessTimeout: .seconds(5), acquireTimeout: .seconds(5)), logger: logger)
        let schedulerTask = Task { try await scheduler.run() }
        defer { schedulerTask.cancel() }
        var configuration = GatewayConfiguration(port: 0, uploadDirectory: directory + "/uploads")
        configuration.limits = limits
        configuration.corsOrigins = corsOrigins
        // With a log store the gateway also serves the logs WebSocket: another server channel.
        let logs = webSocket ? FunctionLogStore(configuration: .init(directory: directory + "/logs"), logger: logger) : nil
        let app = buildApplication(configuration: configuration, store: store, scheduler: scheduler, provider: provider, logs: logs, logger: logger)
        try await app.test(.ahc(.http)) { client in
            try await body(client, try #require(client.port))
        }
    }

    static func deploy(_ client: any TestClientProtocol, _ name: String) async throws {
        let json = try JSONSerialization.data(withJSONObject: [
            "service": name, "runtime": "python3", "code": Data("def handle(e, c): pass\n".utf8).base64EncodedString(),
        ])
        let answer = try await client.execute(uri: "/system/functions", method: .post, headers: [.contentType: "application/json"], body: ByteBuffer(bytes: json))
        #expect(answer.status == .accepted)
    }

    @Test("per client: the burst passes, then 429 with Retry-After; /healthz is never limited")
    func perClient() async throws {
        try await Self.withGateway(GatewayLimits(perClient: .init(perSecond: 0.2, burst: 5))) { client, _ in
            for _ in 0..<5 { #expect(try await client.execute(uri: "/system/info", method: .get).status == .ok) }
            let limited = try await client.execute(uri: "/system/info", method: .get)
            #expect(limited.status == .tooManyRequests)
            let retry = Int(limited.headers[.retryAfter] ?? "") ?? 0
            #expect((1...5).contains(retry), "Retry-After \(retry)")
            #expect(String(buffer: limited.body).contains("too many requests"))
            for _ in 0..<20 { #expect(try await client.execute(uri: "/healthz", method: .get).status == .ok) }
        }
    }

    @Test("per function: one function's calls are limited, another's are not, whoever calls")
    func perFunction() async throws {
        try await Self.withGateway(GatewayLimits(perFunction: .init(perSecond: 0.1, burst: 2))) { client, _ in
            try await Self.deploy(client, "busy")
            try await Self.deploy(client, "calm")
            for _ in 0..<2 { #expect(try await client.execute(uri: "/function/busy", method: .post).status == .ok) }
            let limited = try await client.execute(uri: "/function/busy/sub?x=1", method: .post)
            #expect(limited.status == .tooManyRequests)
            #expect(String(buffer: limited.body).contains("'busy'"))
            #expect(Int(limited.headers[.retryAfter] ?? "") ?? 0 >= 1)
            let async = try await client.execute(uri: "/async-function/busy", method: .post)
            #expect(async.status == .tooManyRequests, "async calls count against the same function")
            #expect(try await client.execute(uri: "/function/calm", method: .post).status == .ok)
            // Unknown and malformed names are the route's 404, not a bucket.
            #expect(try await client.execute(uri: "/function/..%2F", method: .post).status == .notFound)
        }
    }

    @Test("slowloris: a head that does not arrive in time is closed; others are served meanwhile", arguments: [false, true])
    func slowHead(webSocket: Bool) async throws {
        try await Self.withGateway(GatewayLimits(headerTimeout: .seconds(1)), webSocket: webSocket) { client, port in
            let slow = try RawSocket(port: port)
            try slow.send("GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ")
            for _ in 0..<3 {
                try await Task.sleep(for: .milliseconds(200))
                try? slow.send("a")
            }
            #expect(try await client.execute(uri: "/healthz", method: .get).status == .ok)
            try await Task.sleep(for: .milliseconds(1200))
            #expect(slow.readUntilClosed(timeout: 3) != nil, "the slow connection was closed")
            // An idle keep-alive connection ends after the same time.
            let idle = try RawSocket(port: port)
            try idle.send("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            try await Task.sleep(for: .milliseconds(1500))
            let answer = idle.readUntilClosed(timeout: 3) ?? ""
            #expect(answer.hasPrefix("HTTP/1.1 200"), "answered, then closed when idle: \(answer.prefix(80))")
        }
    }

    @Test("a body that never finishes is closed after the body timeout", arguments: [false, true])
    func slowBody(webSocket: Bool) async throws {
        try await Self.withGateway(GatewayLimits(headerTimeout: .seconds(5), bodyTimeout: .seconds(1)), webSocket: webSocket) { _, port in
            let slow = try RawSocket(port: port)
            try slow.send("POST /system/functions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{\"service\":")
            #expect(slow.readUntilClosed(timeout: 4) != nil, "closed")
        }
    }

    @Test("connections per client: one too many is closed at once; closing one makes room", arguments: [false, true])
    func connectionsPerClient(webSocket: Bool) async throws {
        try await Self.withGateway(GatewayLimits(maxConnectionsPerClient: 3), webSocket: webSocket) { _, port in
            // Open connections until one is turned away (the test client may hold one of the three).
            var answered: [RawSocket] = []
            var refused = 0
            for _ in 0..<5 {
                let socket = try RawSocket(port: port)
                try? socket.send("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
                if socket.readAvailable(timeout: 5)?.hasPrefix("HTTP/1.1 200") == true {
                    answered.append(socket)
                } else {
                    refused += 1
                    #expect(socket.readUntilClosed(timeout: 5) == "", "a connection over the cap is closed without an answer")
                }
            }
            #expect((2...3).contains(answered.count) && refused == 5 - answered.count, "\(answered.count) answered, \(refused) refused")
            let held = answered
            held[0].close()
            try await Task.sleep(for: .milliseconds(200))
            let again = try RawSocket(port: port)
            try again.send("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            #expect(again.readAvailable(timeout: 3)?.hasPrefix("HTTP/1.1 200") == true)
        }
    }

    @Test("too many or too big header fields are refused and the gateway keeps serving")
    func bigHeads() async throws {
        try await Self.withGateway(GatewayLimits(maxHeaderBytes: 8 * 1024, maxHeaderCount: 50)) { client, port in
            for head in [
                "GET /healthz HTTP/1.1\r\nHost: x\r\n" + (0..<60).map { "X-H\($0): v\r\n" }.joined() + "\r\n",
                "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + String(repeating: "a", count: 10_000) + "\r\n\r\n",
            ] {
                let socket = try RawSocket(port: port)
                try? socket.send(head)
                let answer = socket.readUntilClosed(timeout: 3) ?? ""
                #expect(!answer.hasPrefix("HTTP/1.1 200"), "refused: \(answer.prefix(60))")
            }
            #expect(try await client.execute(uri: "/healthz", method: .get).status == .ok)
        }
    }
}

/// A blocking TCP client on 127.0.0.1 for byte-level tests.
final class RawSocket: @unchecked Sendable {
    private var fd: CInt

    init(port: Int) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else {
            Glibc.close(fd)
            throw SwiftletError(.internal, "connect failed: errno \(errno)")
        }
    }

    deinit { close() }

    func send(_ text: String) throws {
        let bytes = Array(text.utf8)
        let sent = bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        guard sent == bytes.count else { throw SwiftletError(.internal, "send failed: errno \(errno)") }
    }

    /// Reads until the peer closes (returns what came, "" when nothing) or `timeout` seconds pass (nil).
    func readUntilClosed(timeout: Double) -> String? {
        var data = [UInt8]()
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            guard let chunk = readChunk(timeoutMs: 100) else { continue }
            if chunk.isEmpty { return String(decoding: data, as: UTF8.self) }
            data += chunk
        }
        return nil
    }

    /// Reads what arrives within `timeout` seconds of the first byte (nil when nothing).
    func readAvailable(timeout: Double) -> String? {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if let chunk = readChunk(timeoutMs: 100), !chunk.isEmpty {
                var data = chunk
                while let more = readChunk(timeoutMs: 50), !more.isEmpty { data += more }
                return String(decoding: data, as: UTF8.self)
            }
        }
        return nil
    }

    /// One read: nil when nothing came in time, empty at end of stream (or an error).
    private func readChunk(timeoutMs: Int32) -> [UInt8]? {
        var poller = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        guard poll(&poller, 1, timeoutMs) > 0 else { return nil }
        var buffer = [UInt8](repeating: 0, count: 65536)
        let count = recv(fd, &buffer, buffer.count, 0)
        return count <= 0 ? [] : Array(buffer[0..<count])
    }

    func close() {
        if fd >= 0 {
            Glibc.close(fd)
            fd = -1
        }
    }
}
