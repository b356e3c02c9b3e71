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
        let target = try FunctionPath(path: path, prefix: Self.prefix)
        let functionName = target.name
        let subPath = target.subPath
        let callID = request.headers[.xCallID].flatMap(Self.acceptableCallID) ?? UUID().uuidString
        var logger = context.logger
        logger[metadataKey: "swiftlet.function"] = "\(functionName)"
        logger[metadataKey: "swiftlet.call_id"] = "\(callID)"

        let body = try await Self.collectBody(request, limit: maxBodyBytes)

        let metrics = scheduler.metrics
        let clock = ContinuousClock()
        let begin = clock.now
        let lease: InstanceLease
        do {
            lease = try await scheduler.acquire(functionName)
            metrics.callStarted(functionName)
        } catch let error as SwiftletError where error.code != .notFound {
            // Unknown functions are not counted, so that their names cannot grow the metrics.
            metrics.callStarted(functionName)
            metrics.callFinished(functionName, code: Int(error.status.code), duration: clock.now - begin)
            throw error
        }
        let timeout = lease.timeout

        var head = HTTPRequest(method: request.method, scheme: nil, authority: "127.0.0.1:8080", path: subPath + (request.uri.query.map { "?" + $0 } ?? ""))
        head.headerFields = Self.forwardedHeaders(request, context: context)
        head.headerFields[.xCallID] = callID
        head.headerFields[.xStartTime] = String(Self.unixNanos(start))
        if body.readableBytes > 0 || request.method == .post || request.method == .put || request.method == .patch {
            head.headerFields[.contentLength] = String(body.readableBytes)
        }

        let response: ProxyResponse
        do {
            response = try await lease.instance.send(ProxyRequest(head: head, body: body), timeout: timeout)
        } catch ProxyError.timeout {
            lease.end()
            metrics.callFinished(functionName, code: 504, duration: clock.now - begin)
            logger.warning("function timed out", metadata: ["swiftlet.timeout": "\(timeout)"])
            throw SwiftletError(.timeout, "function '\(functionName)' did not answer within \(timeout) (its exec_timeout)")
        } catch {
            lease.end(failed: true)
            metrics.callFinished(functionName, code: 502, duration: clock.now - begin)
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
        let code = response.head.status.code
        return Response(
            status: response.head.status, headers: headers,
            body: ResponseBody(contentLength: contentLength) { writer in
                do {
                    for try await chunk in stream {
                        try await writer.write(chunk)
                    }
                    try await writer.finish(nil)
                    lease.end()
                    metrics.callFinished(functionName, code: code, duration: clock.now - begin)
                } catch {
                    stream.abandon()
                    lease.end(failed: !(error is CancellationError))
                    metrics.callFinished(functionName, code: code, duration: clock.now - begin)
                    throw error
                }
            }
        )
    }

    /// The caller's `X-Call-Id` when it is usable as an id: 1–128 printable ASCII characters.
    static func acceptableCallID(_ value: String) -> String? {
        guard !value.isEmpty, value.utf8.count <= 128, value.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F }) else { return nil }
        return value
    }

    /// The request's body, up to `limit` bytes (413 beyond).
    static func collectBody(_ request: Request, limit: Int) async throws -> ByteBuffer {
        if let length = request.headers[.contentLength].flatMap(Int.init), length > limit {
            throw SwiftletError(.tooLarge, "the request body is \(length) bytes; the limit is \(limit) bytes")
        }
        do {
            return try await request.body.collect(upTo: limit)
        } catch is NIOTooManyBytesError {
            throw SwiftletError(.tooLarge, "the request body is larger than the limit of \(limit) bytes")
        }
    }

    /// The caller's headers as a function gets them: hop-by-hop headers dropped,
    /// `X-Forwarded-Host` and `X-Forwarded-For` added.
    static func forwardedHeaders(_ request: Request, context: Context) -> HTTPFields {
        var fields = HTTPFields()
        for field in request.headers where !ProxyHeaders.hopByHop.contains(field.name) {
            fields.append(field)
        }
        if let host = request.head.authority { fields[.xForwardedHost] = host }
        if let address = context.remoteAddress?.ipAddress {
            let previous = request.headers[.xForwardedFor]
            fields[.xForwardedFor] = previous.map { "\($0), \(address)" } ?? address
        }
        return fields
    }

    static func unixNanos(_ date: Date) -> Int64 {
        Int64(date.timeIntervalSince1970 * 1_000_000_000)
    }
}
