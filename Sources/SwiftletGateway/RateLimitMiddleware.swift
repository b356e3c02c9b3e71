import Hummingbird
import NIOCore
import SwiftletCore

/// Answers 429 with `Retry-After` (whole seconds, at least 1) when a client address has used up
/// its requests (every route), or a function its calls (`/function/*` and `/async-function/*`,
/// counted per function whoever calls). `/healthz` and `/metrics` are never limited: monitoring
/// must see an overloaded gateway.
struct RateLimitMiddleware<Context: RemoteAddressRequestContext>: RouterMiddleware {
    let perClient: TokenBuckets?
    let perFunction: TokenBuckets?

    init(limits: GatewayLimits) {
        perClient = limits.perClient.map { TokenBuckets(rate: $0) }
        perFunction = limits.perFunction.map { TokenBuckets(rate: $0) }
    }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let path = request.uri.path
        if path == "/healthz" || path == "/metrics" { return try await next(request, context) }
        if let perClient, let wait = perClient.take(Self.clientKey(context.remoteAddress)) {
            throw RateLimited(wait: wait, message: "too many requests from this client; try again in \(Self.seconds(wait)) s")
        }
        if let perFunction {
            for prefix in ["/function/", "/async-function/"] where path.hasPrefix(prefix) {
                // An unknown or malformed name is the route's 404, not a bucket.
                guard let target = try? FunctionPath(path: path, prefix: prefix) else { break }
                if let wait = perFunction.take(target.name) {
                    throw RateLimited(wait: wait, message: "function '\(target.name)' is getting more calls than its rate limit; try again in \(Self.seconds(wait)) s")
                }
            }
        }
        return try await next(request, context)
    }

    /// The client's address without its port (all connections of one host share a bucket).
    static func clientKey(_ address: SocketAddress?) -> String {
        address?.ipAddress ?? "unknown"
    }

    static func seconds(_ wait: Duration) -> Int {
        max(1, Int((Double(wait.components.seconds) + Double(wait.components.attoseconds) / 1e18).rounded(.up)))
    }
}

/// A 429 whose `Retry-After` says when a token is free again.
struct RateLimited: HTTPResponseError {
    let wait: Duration
    let message: String

    var status: HTTPResponse.Status { .tooManyRequests }

    func response(from request: Request, context: some RequestContext) throws -> Response {
        var headers = HTTPFields()
        headers[.contentType] = "text/plain; charset=utf-8"
        headers[.retryAfter] = String(RateLimitMiddleware<SwiftletRequestContext>.seconds(wait))
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(string: message + "\n")))
    }
}
