import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import SwiftletCore
import SwiftletProviders
import SwiftletScheduler

/// Serves `/function/{name}[.{namespace}][/path…]` for any method: holds the call until an
/// instance is ready, forwards it with `X-Call-Id` and `X-Forwarded-*`, and streams the answer
/// back with `X-Call-Id` and `X-Start-Time`.
struct FunctionProxy<Context: RemoteAddressRequestContext>: RouterMiddleware {
    let scheduler: Scheduler
    let maxBodyBytes: Int

    static var prefix: String { "/function/" }


    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let path = request.uri.path
        guard path.hasPrefix(Self.prefix) else { return try await next(request, context) }
        let start = Date()
        let rest = path.dropFirst(Self.prefix.count)
        let nameEnd = rest.firstIndex(of: "/") ?? rest.endIndex
        let (name, namespace) = FunctionName.split(rest[..<nameEnd])
        let subPath = rest[nameEnd...].isEmpty ? "/" : String(rest[nameEnd...])
        if let namespace, namespace != FunctionName.defaultNamespace {
            throw SwiftletError(.notFound, "function '\(name.prefix(63)).\(namespace.prefix(63))' not found: Swiftlet serves the namespace '\(FunctionName.defaultNamespace)'")
        }
        do {
            try FunctionName.validate(String(name))
        } catch {
            throw SwiftletError(.notFound, "function '\(name.prefix(63))' not found")
        }
        let functionName = String(name)
        let callID = request.headers[.xCallID].flatMap { $0.isEmpty || $0.count > 128 ? nil : $0 } ?? UUID().uuidString
        var logger = context.logger
        logger[metadataKey: "swiftlet.function"] = "\(functionName)"
        logger[metadataKey: "swiftlet.call_id"] = "\(callID)"

        if let length = request.headers[.contentLength].flatMap(Int.init), length > maxBodyBytes {
            throw SwiftletError(.tooLarge, "the request body is \(length) bytes; the limit is \(maxBodyBytes) bytes")
        }
        let body: ByteBuffer
        do {
            body = try await request.body.collect(upTo: maxBodyBytes)
        } catch is NIOTooManyBytesError {
            throw SwiftletError(.tooLarge, "the request body is larger than the limit of \(maxBodyBytes) bytes")
        }

        let lease = try await scheduler.acquire(functionName)
        let timeout = lease.timeout

        var head = HTTPRequest(method: request.method, scheme: nil, authority: "127.0.0.1:8080", path: subPath + (request.uri.query.map { "?" + $0 } ?? ""))
        for field in request.headers where !ProxyHeaders.hopByHop.contains(field.name) {
            head.headerFields.append(field)
        }
        head.headerFields[.xCallID] = callID
        head.headerFields[.xStartTime] = String(Self.unixNanos(start))
        if let host = request.head.authority { head.headerFields[.xForwardedHost] = host }
        if let address = context.remoteAddress?.ipAddress {
            let previous = request.headers[.xForwardedFor]
            head.headerFields[.xForwardedFor] = previous.map { "\($0), \(address)" } ?? address
        }
        if body.readableBytes > 0 || request.method == .post || request.method == .put || request.method == .patch {
            head.headerFields[.contentLength] = String(body.readableBytes)
        }

        let response: ProxyResponse
        do {
            response = try await lease.instance.send(ProxyRequest(head: head, body: body), timeout: timeout)
        } catch ProxyError.timeout {
            lease.end()
            logger.warning("function timed out", metadata: ["swiftlet.timeout": "\(timeout)"])
            throw SwiftletError(.timeout, "function '\(functionName)' did not answer within \(timeout) (its exec_timeout)")
        } catch {
            lease.end(failed: true)
            logger.warning("function failed", metadata: ["error": "\(error)"])
            throw SwiftletError(.badGateway, "function '\(functionName)' failed: its instance crashed or closed the connection; check its logs")
        }

        var headers = HTTPFields()
        for field in response.head.headerFields where !ProxyHeaders.hopByHop.contains(field.name) {
            headers.append(field)
        }
        headers[.xCallID] = callID
        headers[.xStartTime] = String(Self.unixNanos(start))
        let contentLength = response.head.headerFields[.contentLength].flatMap(Int.init)
        let stream = response.body
        return Response(
            status: response.head.status, headers: headers,
            body: ResponseBody(contentLength: contentLength) { writer in
                do {
                    for try await chunk in stream {
                        try await writer.write(chunk)
                    }
                    try await writer.finish(nil)
                    lease.end()
                } catch {
                    stream.abandon()
                    lease.end(failed: !(error is CancellationError))
                    throw error
                }
            }
        )
    }

    static func unixNanos(_ date: Date) -> Int64 {
        Int64(date.timeIntervalSince1970 * 1_000_000_000)
    }
}

extension HTTPField.Name {
    static let xCallID = HTTPField.Name("X-Call-Id")!
    static let xStartTime = HTTPField.Name("X-Start-Time")!
    static let xForwardedFor = HTTPField.Name("X-Forwarded-For")!
    static let xForwardedHost = HTTPField.Name("X-Forwarded-Host")!
}

/// Header rules of the proxy.
enum ProxyHeaders {
    /// Hop-by-hop headers, never forwarded (Content-Length is set anew).
    static let hopByHop: Set<HTTPField.Name> = [
        .connection, .transferEncoding, .upgrade, .te, .proxyAuthorization, .proxyAuthenticate,
        HTTPField.Name("Keep-Alive")!, HTTPField.Name("Trailer")!, .contentLength,
    ]
}
