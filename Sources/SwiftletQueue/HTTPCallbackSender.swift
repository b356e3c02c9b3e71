import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import SwiftletCore

/// POSTs results to callback URLs with AsyncHTTPClient, with the headers OpenFaaS sends: the
/// function's own, plus `X-Call-Id`, `X-Function-Name`, `X-Function-Status` (503 when the
/// function could not be called) and `X-Duration-Seconds`. Redirects are not followed.
public struct HTTPCallbackSender: CallbackSender {
    let client: HTTPClient
    let timeout: Duration

    /// Creates a sender over `client` (its owner shuts it down); each delivery may take `timeout`.
    public init(client: HTTPClient, timeout: Duration = .seconds(10)) {
        self.client = client
        self.timeout = timeout
    }

    /// The client configuration callbacks need: no redirects, bounded connect time.
    public static var clientConfiguration: HTTPClient.Configuration {
        var configuration = HTTPClient.Configuration(redirectConfiguration: .disallow, timeout: .init(connect: .seconds(5)))
        configuration.connectionPool.idleTimeout = .seconds(30)
        return configuration
    }

    /// The headers never copied from the function's answer.
    static let skipped: Set<String> = [
        "connection", "transfer-encoding", "upgrade", "te", "keep-alive", "trailer", "content-length", "host",
        "proxy-authorization", "proxy-authenticate", "x-call-id", "x-function-name", "x-function-status", "x-duration-seconds",
    ]

    public func deliver(_ call: AsyncCall) async throws -> Int {
        guard let url = call.callbackURL else { return 200 }
        var request = HTTPClientRequest(url: url)
        request.method = .POST
        let status: Int
        let body: Data
        if let result = call.result {
            for field in result.headers where !Self.skipped.contains(field.name.lowercased()) {
                request.headers.add(name: field.name, value: field.value)
            }
            (status, body) = (result.status, result.body)
        } else {
            request.headers.add(name: "Content-Type", value: "text/plain; charset=utf-8")
            (status, body) = (503, Data(((call.lastError ?? "the function could not be called") + "\n").utf8))
        }
        request.headers.replaceOrAdd(name: "X-Call-Id", value: call.id)
        request.headers.replaceOrAdd(name: "X-Function-Name", value: call.function)
        request.headers.replaceOrAdd(name: "X-Function-Status", value: String(status))
        request.headers.replaceOrAdd(name: "X-Duration-Seconds", value: String(format: "%.6f", call.result?.durationSeconds ?? 0))
        request.body = .bytes(ByteBuffer(bytes: body))
        let response = try await client.execute(request, timeout: .nanoseconds(timeout.inNanoseconds))
        // Read (and drop) a short answer so the connection can be reused; a long one closes it.
        _ = try? await response.body.collect(upTo: 64 * 1024)
        return Int(response.status.code)
    }
}
