import Foundation
import Hummingbird
import NIOCore
import SwiftletCore
import SwiftletStore

/// API tokens under `/system/tokens` (admin only): list, create (the token is answered once and
/// never again), revoke by id or name.
struct TokensController: Sendable {
    let store: any TokenStore

    /// The body of `POST /system/tokens`.
    struct CreateRequest: Decodable {
        var name: String
        var scopes: [String]
    }

    func addRoutes(to router: Router<SwiftletRequestContext>) {
        router.get("/system/tokens", use: list)
        router.post("/system/tokens", use: create)
        router.delete("/system/tokens/{token}", use: revoke)
    }

    /// `GET /system/tokens`: `[{id, name, scopes, createdAt, lastUsedAt}]`, without secrets.
    @Sendable func list(_ request: Request, context: SwiftletRequestContext) async throws -> Response {
        try JSONResponse.make(try await store.allTokens().map { APITokenListing($0) })
    }

    /// `POST /system/tokens` with `{"name", "scopes": ["deploy", "invoke:hello"]}`: 201 with the
    /// token, 400 for a bad name or scope, 409 when the name is taken.
    @Sendable func create(_ request: Request, context: SwiftletRequestContext) async throws -> Response {
        let body = try await JSONBody.decode(CreateRequest.self, from: request, context: context)
        try Self.validateName(body.name)
        guard !body.scopes.isEmpty, body.scopes.count <= 50 else {
            throw SwiftletError(.invalidInput, "give 1 to 50 scopes: admin, deploy, invoke:<function> or invoke:*")
        }
        var scopes: [TokenScope] = []
        for text in body.scopes {
            let scope = try TokenScope(parsing: text)
            if !scopes.contains(scope) { scopes.append(scope) }
        }
        let (id, token, hash) = TokenAuthority.generate()
        let record = APIToken(id: id, name: body.name, scopes: scopes)
        try await store.insertToken(record, secretHash: hash)
        context.logger.info("created API token", metadata: ["swiftlet.token": "\(body.name)", "swiftlet.token_id": "\(id)"])
        return try JSONResponse.make(APITokenListing(record, token: token), status: .created)
    }

    /// `DELETE /system/tokens/{id or name}`: 200, 404 when absent. Revocation is immediate.
    @Sendable func revoke(_ request: Request, context: SwiftletRequestContext) async throws -> Response {
        let key = try context.parameters.require("token")
        guard key.utf8.count <= 128, try await store.deleteToken(key) else {
            throw SwiftletError(.notFound, "no API token with id or name '\(key.prefix(64))'")
        }
        context.logger.info("revoked API token", metadata: ["swiftlet.token": "\(key)"])
        return Response(status: .ok)
    }

    /// Names: 1 to 64 letters, digits, `.`, `_` and `-`.
    static func validateName(_ name: String) throws(SwiftletError) {
        guard (1...64).contains(name.count), name.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "._-".contains($0)) }) else {
            throw SwiftletError(.invalidInput, "token name '\(name.prefix(64))' must be 1 to 64 letters, digits, '.', '_' or '-'")
        }
    }
}
