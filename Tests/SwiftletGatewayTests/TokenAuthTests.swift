import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import SwiftletCore
import SwiftletGateway
import SwiftletStore
import Testing

/// API tokens through the real application: created and revoked by an admin, scopes enforced on
/// every route, protected functions (`com.swiftlet.auth=true`), stored hashed.
@Suite("API tokens")
struct TokenAuthTests {
    typealias API = SecretsAPITests

    static func bearer(_ token: String) -> HTTPFields { [.authorization: "Bearer " + token, .contentType: "application/json"] }

    /// Creates a token with `scopes` as admin; returns the token string.
    static func create(_ api: API.Harness, _ name: String, _ scopes: [String]) async throws -> String {
        let answer = try await api.send(.post, "/system/tokens", json: ["name": name, "scopes": scopes])
        #expect(answer.status == .created, "\(API.text(answer))")
        let json = try #require(try JSONSerialization.jsonObject(with: Data(answer.body.readableBytesView)) as? [String: Any])
        return try #require(json["token"] as? String)
    }

    static func deployBody(_ name: String, labels: [String: String] = [:]) throws -> ByteBuffer {
        ByteBuffer(bytes: try JSONSerialization.data(withJSONObject: [
            "service": name, "runtime": "python3", "code": Data("def handle(e, c): pass\n".utf8).base64EncodedString(), "labels": labels,
        ]))
    }

    @Test("scopes: deploy may deploy and read status, not secrets or tokens; admin may everything; revoked is 401")
    func scopes() async throws {
        try await API.withAPI { api in
            let deployer = try await Self.create(api, "ci", ["deploy"])
            #expect(deployer.hasPrefix("swl_"))
            let client = api.client
            var answer = try await client.execute(uri: "/system/functions", method: .post, headers: Self.bearer(deployer), body: try Self.deployBody("fn"))
            #expect(answer.status == .accepted, "\(API.text(answer))")
            #expect(try await client.execute(uri: "/system/functions", method: .get, headers: Self.bearer(deployer)).status == .ok)
            #expect(try await client.execute(uri: "/system/function/fn", method: .get, headers: Self.bearer(deployer)).status == .ok)
            #expect(try await client.execute(uri: "/system/info", method: .get, headers: Self.bearer(deployer)).status == .ok)
            answer = try await client.execute(
                uri: "/system/secrets", method: .post, headers: Self.bearer(deployer), body: ByteBuffer(string: #"{"name":"s","value":"v"}"#)
            )
            #expect(answer.status == .forbidden)
            #expect(API.text(answer).contains("token 'ci' has scopes deploy") && API.text(answer).contains("needs admin"), "\(API.text(answer))")
            #expect(try await client.execute(uri: "/system/tokens", method: .get, headers: Self.bearer(deployer)).status == .forbidden)

            let admin = try await Self.create(api, "root", ["admin"])
            #expect(try await client.execute(uri: "/system/tokens", method: .get, headers: Self.bearer(admin)).status == .ok)

            // Listing never shows a secret.
            let list = API.text(try await api.send(.get, "/system/tokens"))
            #expect(list.contains(#""name":"ci""#) && !list.contains(deployer) && !list.contains(String(deployer.suffix(43))))

            #expect(try await api.send(.delete, "/system/tokens/ci").status == .ok)
            answer = try await client.execute(uri: "/system/functions", method: .get, headers: Self.bearer(deployer))
            #expect(answer.status == .unauthorized, "a revoked token is refused at once")
            #expect(try await api.send(.delete, "/system/tokens/ci").status == .notFound)
        }
    }

    @Test("a protected function needs invoke:NAME, invoke:* or admin; other functions stay open")
    func protectedFunctions() async throws {
        try await API.withAPI { api in
            for (name, labels) in [("open", [String: String]()), ("locked", [TokenScope.authLabel: "true"]), ("other", [TokenScope.authLabel: "true"])] {
                let answer = try await api.client.execute(uri: "/system/functions", method: .post, headers: API.auth, body: try Self.deployBody(name, labels: labels))
                #expect(answer.status == .accepted)
            }
            let caller = try await Self.create(api, "caller", ["invoke:locked"])
            let everyone = try await Self.create(api, "all", ["invoke:*"])
            let deployer = try await Self.create(api, "dep", ["deploy"])
            let client = api.client
            #expect(try await client.execute(uri: "/function/open", method: .post).status == .ok)
            var answer = try await client.execute(uri: "/function/locked", method: .post)
            #expect(answer.status == .unauthorized && answer.headers[.wwwAuthenticate] != nil)
            #expect(try await client.execute(uri: "/async-function/locked", method: .post).status == .unauthorized)
            answer = try await client.execute(uri: "/function/locked/sub?x=1", method: .post, headers: Self.bearer(caller))
            #expect(answer.status == .ok)
            #expect(answer.headers[HTTPField.Name("X-Saw-Authorization")!] == "no", "the gateway consumed the token; the function never sees it")
            // An open function gets the caller's headers unchanged, as in OpenFaaS.
            answer = try await client.execute(uri: "/function/open", method: .post, headers: [.authorization: "Bearer the-functions-own-token"])
            #expect(answer.status == .ok && answer.headers[HTTPField.Name("X-Saw-Authorization")!] == "yes")
            answer = try await client.execute(uri: "/function/other", method: .post, headers: Self.bearer(caller))
            #expect(answer.status == .forbidden && API.text(answer).contains("invoke:other"), "\(API.text(answer))")
            #expect(try await client.execute(uri: "/function/other", method: .post, headers: Self.bearer(everyone)).status == .ok)
            #expect(try await client.execute(uri: "/function/locked", method: .post, headers: Self.bearer(deployer)).status == .forbidden)
            #expect(try await client.execute(uri: "/function/locked", method: .post, headers: API.auth).status == .ok, "basic auth is admin")
            // An invoke token cannot deploy.
            #expect(try await client.execute(uri: "/system/functions", method: .get, headers: Self.bearer(caller)).status == .forbidden)
        }
    }

    @Test("bad tokens are 401 without a hint; bad names and scopes are 400; names are unique", arguments: [
        "Bearer ", "Bearer swl_", "Bearer swl_zzzzzzzzzzzz_" + String(repeating: "a", count: 43), "Bearer " + String(repeating: "x", count: 5000),
        "Bearer swl_000000000000_" + String(repeating: "a", count: 43), "Token abc", "Basic !!!!", "Bearer swl_0000000000_\u{0}",
    ])
    func badTokens(_ header: String) async throws {
        try await API.withAPI { api in
            let real = try await Self.create(api, "real", ["admin"])
            let answer = try await api.client.execute(uri: "/system/functions", method: .get, headers: [.authorization: header])
            #expect(answer.status == .unauthorized || answer.status == .badRequest, "\(header.prefix(40)): \(answer.status)")
            // The right id with a wrong secret.
            let forged = String(real.dropLast(1)) + (real.last == "A" ? "B" : "A")
            #expect(try await api.client.execute(uri: "/system/functions", method: .get, headers: Self.bearer(forged)).status == .unauthorized)
        }
    }

    @Test("creation refuses bad names and scopes; names are unique; 30 concurrent creations get distinct tokens")
    func creation() async throws {
        try await API.withAPI { api in
            for body: [String: Any] in [
                ["name": "", "scopes": ["admin"]], ["name": "a b", "scopes": ["admin"]], ["name": String(repeating: "n", count: 65), "scopes": ["admin"]],
                ["name": "x", "scopes": [String]()], ["name": "x", "scopes": ["root"]], ["name": "x", "scopes": ["invoke:"]],
                ["name": "x", "scopes": ["invoke:../etc"]], ["name": "x"], ["scopes": ["admin"]],
            ] {
                let answer = try await api.send(.post, "/system/tokens", json: body)
                #expect(answer.status == .badRequest, "\(body): \(answer.status) \(API.text(answer))")
            }
            _ = try await Self.create(api, "dup", ["deploy"])
            #expect(try await api.send(.post, "/system/tokens", json: ["name": "dup", "scopes": ["admin"]]).status == .conflict)
            let tokens = try await withThrowingTaskGroup(of: String.self) { group in
                for i in 0..<30 { group.addTask { try await Self.create(api, "many-\(i)", ["invoke:*"]) } }
                return try await group.reduce(into: [String]()) { $0.append($1) }
            }
            #expect(Set(tokens).count == 30)
            // Stored hashed: no token string in the database.
            let listed = try await api.store.allTokens()
            #expect(listed.count == 31)
            for token in tokens.prefix(5) {
                let secret = String(token.suffix(43))
                #expect(try await api.store.token(id: String(token.dropFirst(4).prefix(12)))?.secretHash != Data(secret.utf8))
            }
        }
    }
}
