import Hummingbird
import HTTPTypes
import NIOCore

/// CORS for browser clients, off unless origins are given (`--cors-origin`, repeatable, or `*`):
/// a request whose `Origin` is allowed gets the answer headers of Hummingbird's CORS middleware
/// (and its preflight `OPTIONS` answer); any other origin gets no CORS headers, so browsers
/// refuse to hand the answer to the page. Credentials are never allowed cross-origin with `*`.
struct CORSPolicy<Context: RequestContext>: RouterMiddleware {
    let origins: Set<String>

    static var methods: [HTTPRequest.Method] { [.get, .post, .put, .delete, .head, .options, .patch] }
    static var headers: [HTTPField.Name] { [.accept, .authorization, .contentType, .origin, HTTPField.Name("X-Callback-Url")!, HTTPField.Name("X-Call-Id")!] }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard let origin = request.headers[.origin], origin != "null" else { return try await next(request, context) }
        let allowed: CORSMiddleware<Context>.AllowOriginExtended
        if origins.contains(origin) {
            allowed = .custom(origin)
        } else if origins.contains("*") {
            allowed = .all
        } else {
            return try await next(request, context)
        }
        let cors = CORSMiddleware<Context>(
            allowOrigin: allowed, allowHeaders: Self.headers, allowMethods: Self.methods, allowCredentials: !origins.contains("*") && origins.contains(origin),
            exposedHeaders: ["X-Call-Id", "X-Duration-Seconds", "Retry-After"], maxAge: .seconds(600)
        )
        return try await cors.handle(request, context: context, next: next)
    }
}
