import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import SwiftletCore

extension GatewayClient {
    /// Uploads the file at `path` as the body of a POST, streaming it from disk.
    func upload(_ path: String, to urlPath: String) async throws -> Answer {
        guard let handle = FileHandle(forReadingAtPath: path) else {
            throw SwiftletError(.invalidInput, "cannot read \(path); check that it exists and is readable")
        }
        let size = (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? 0
        let chunks = AsyncStream<ByteBuffer> { continuation in
            while true {
                let data = handle.readData(ofLength: 1 << 20)
                if data.isEmpty { break }
                continuation.yield(ByteBuffer(data: data))
            }
            try? handle.close()
            continuation.finish()
        }
        var request = HTTPClientRequest(url: baseURL + urlPath)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/x-tar")
        addAuthorization(to: &request)
        request.body = .stream(chunks, length: .known(Int64(size)))
        return try await execute(request, timeout: .minutes(30))
    }

    /// POSTs `body` and hands each line of the streamed answer to `onLine` as it arrives.
    func streamLines(_ urlPath: String, body: ByteBuffer, onLine: (String) throws -> Void) async throws -> Int {
        var request = HTTPClientRequest(url: baseURL + urlPath)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        addAuthorization(to: &request)
        request.body = .bytes(body)
        let response: HTTPClientResponse
        do {
            response = try await Self.http.execute(request, timeout: .hours(2))
        } catch {
            throw SwiftletError(.unavailable, "cannot reach the gateway at \(baseURL) (\(error)); is `swiftlet up` running?")
        }
        var pending = ByteBuffer()
        for try await chunk in response.body {
            var chunk = chunk
            pending.writeBuffer(&chunk)
            while let newline = pending.readableBytesView.firstIndex(of: UInt8(ascii: "\n")) {
                let length = newline - pending.readerIndex
                let line = pending.readString(length: length) ?? ""
                pending.moveReaderIndex(forwardBy: 1)
                try onLine(line)
            }
        }
        if pending.readableBytes > 0, let rest = pending.readString(length: pending.readableBytes) {
            try onLine(rest)
        }
        return Int(response.status.code)
    }
}
