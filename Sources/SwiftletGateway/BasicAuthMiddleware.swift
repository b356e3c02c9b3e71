import Foundation
import Hummingbird
import SwiftletCore

/// Basic auth on `/system/*` as OpenFaaS does it: `401` with `WWW-Authenticate: Basic
/// realm="Restricted"` on failure; `/function/*`, `/async-function/*` and `/healthz` stay open.
/// Comparisons take the same time whatever the input.
struct BasicAuthMiddleware<Context: RequestContext>: RouterMiddleware {
    let credentials: BasicCredentials

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard request.uri.path.hasPrefix("/system/") || request.uri.path == "/system" else {
            return try await next(request, context)
        }
        let given = request.headers[.authorization].flatMap(Self.decode)
        let userMatches = Self.constantTimeEqual(given?.user ?? "", credentials.user)
        let passwordMatches = Self.constantTimeEqual(given?.password ?? "", credentials.password)
        guard given != nil, userMatches, passwordMatches else {
            throw SwiftletError(.unauthorized, "authentication required: use the credentials in the data directory's basic-auth-user and basic-auth-password files")
        }
        return try await next(request, context)
    }

    static func decode(_ header: String) -> (user: String, password: String)? {
        let parts = header.split(separator: " ", maxSplits: 1)
        guard parts.count == 2, parts[0].lowercased() == "basic",
            let data = Data(base64Encoded: String(parts[1]).trimmingCharacters(in: .whitespaces)),
            let text = String(data: data, encoding: .utf8), let colon = text.firstIndex(of: ":")
        else { return nil }
        return (String(text[..<colon]), String(text[text.index(after: colon)...]))
    }

    /// Compares without an early exit, so the time taken does not reveal a matching prefix.
    static func constantTimeEqual(_ a: String, _ b: String) -> Bool {
        let x = Array(a.utf8)
        let y = Array(b.utf8)
        var difference = UInt8(truncatingIfNeeded: x.count ^ y.count) | UInt8(x.count == y.count ? 0 : 1)
        for i in 0..<max(x.count, y.count) {
            difference |= (i < x.count ? x[i] : 0) ^ (i < y.count ? y[i] : 0)
        }
        return difference == 0
    }
}
