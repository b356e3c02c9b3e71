import Foundation
import Hummingbird
import SwiftletCore
import SwiftletScheduler

/// Who may do what:
/// - `/system/*` needs basic auth (everything) or an API token (`Authorization: Bearer swl_…`)
///   whose scopes allow the route: `deploy` for functions, scaling, status, logs, info and
///   namespaces; `admin` for the rest (secrets, images, tokens, async results);
/// - `/function/NAME` and `/async-function/NAME` stay open, as in OpenFaaS, unless the function
///   has the label `com.swiftlet.auth=true`: then basic auth or a token with `admin` or
///   `invoke:NAME` (`invoke:*`) is needed;
/// - `/healthz` and `/metrics` stay open.
/// 401 when the credentials are missing or wrong (an empty `Bearer ` counts as missing), 403
/// when a valid token's scopes do not allow the request.
struct AuthMiddleware<Context: RequestContext>: RouterMiddleware {
    let credentials: BasicCredentials
    let tokens: TokenAuthority?
    let scheduler: Scheduler

    enum Need: Equatable {
        case admin
        case deploy
        case invoke(String)
    }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard let need = try await need(for: request) else { return try await next(request, context) }
        try await authorize(request, need: need)
        // The gateway consumed the credentials of a protected call: the function never sees them.
        guard case .invoke = need else { return try await next(request, context) }
        var head = request.head
        head.headerFields[.authorization] = nil
        return try await next(Request(head: head, body: request.body), context)
    }

    /// Throws 401 or 403 unless the request's credentials allow `need`.
    func authorize(_ request: Request, need: Need) async throws {
        let header = request.headers[.authorization] ?? ""
        if let basic = BasicAuth.decode(header) {
            let userMatches = BasicAuth.constantTimeEqual(basic.user, credentials.user)
            let passwordMatches = BasicAuth.constantTimeEqual(basic.password, credentials.password)
            guard userMatches, passwordMatches else { throw Self.unauthorized }
            return
        }
        let parts = header.split(separator: " ", maxSplits: 1)
        guard parts.count == 2, parts[0].lowercased() == "bearer", let tokens else { throw Self.unauthorized }
        guard let token = try await tokens.authenticate(String(parts[1]).trimmingCharacters(in: .whitespaces)) else {
            throw SwiftletError(.unauthorized, "the API token is not valid (revoked, or mistyped); create one with `swiftlet token create`")
        }
        guard Self.allows(token.scopes, need) else {
            throw SwiftletError(
                .forbidden,
                "token '\(token.name)' has scopes \(token.scopes.map(\.description).joined(separator: ", ")); this request needs \(Self.describe(need))"
            )
        }
    }

    static var unauthorized: SwiftletError {
        SwiftletError(
            .unauthorized,
            "authentication required: use the credentials in the data directory's basic-auth-user and basic-auth-password files, or an API token (Authorization: Bearer swl_…)"
        )
    }

    /// What the request needs, or nil when it is open.
    func need(for request: Request) async throws -> Need? {
        let path = request.uri.path
        if path == "/system" || path.hasPrefix("/system/") { return Self.systemNeed(method: request.method, path: path) }
        for prefix in ["/function/", "/async-function/"] where path.hasPrefix(prefix) {
            // A name that cannot exist is the route's 404.
            guard let target = try? FunctionPath(path: path, prefix: prefix),
                let spec = await scheduler.deployedSpec(target.name), TokenScope.requiresAuth(spec.labels)
            else { return nil }
            return .invoke(target.name)
        }
        return nil
    }

    static func systemNeed(method: HTTPRequest.Method, path: String) -> Need {
        let deployRoutes = ["/system/functions", "/system/function/", "/system/scale-function/", "/system/logs"]
        if deployRoutes.contains(where: { path == $0 || path.hasPrefix($0.hasSuffix("/") ? $0 : $0 + "/") || path.hasPrefix($0 + "?") }) {
            return .deploy
        }
        if method == .get && (path == "/system/info" || path == "/system/namespaces") { return .deploy }
        return .admin
    }

    static func allows(_ scopes: [TokenScope], _ need: Need) -> Bool {
        scopes.contains { scope in
            switch (scope, need) {
            case (.admin, _): true
            case (.deploy, .deploy): true
            case (.invoke(let name), .invoke(let function)): name == "*" || name == function
            default: false
            }
        }
    }

    static func describe(_ need: Need) -> String {
        switch need {
        case .admin: "admin"
        case .deploy: "deploy (or admin)"
        case .invoke(let name): "invoke:\(name) (or invoke:*, or admin)"
        }
    }
}
