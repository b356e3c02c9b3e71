import Foundation
import Logging
import SwiftletCore
import SwiftletStore
import Testing

/// Runs `body` with a fresh token store of `kind`.
func withTokenStore<T>(_ kind: StoreKind, _ body: (any TokenStore) async throws -> T) async throws -> T {
    try await withEveryStore(kind) { try await body($0) }
}

/// The token store's contract, on both stores.
@Suite("Token store")
struct TokenStoreTests {
    static let hash = Data(repeating: 7, count: 32)

    @Test("insert, fetch with hash, list, touch, unique names, delete by id or name", arguments: StoreKind.allCases)
    func contract(kind: StoreKind) async throws {
        try await withTokenStore(kind) { store in
            let first = APIToken(id: "0123456789ab", name: "ci", scopes: [.deploy, .invoke("hello")], createdAt: at(1))
            try await store.insertToken(first, secretHash: Self.hash)
            let fetched = try #require(try await store.token(id: "0123456789ab"))
            #expect(fetched.token == first && fetched.secretHash == Self.hash)
            #expect(try await store.token(id: "ffffffffffff") == nil)
            await #expect(throws: SwiftletError.self) {
                try await store.insertToken(APIToken(id: "aaaaaaaaaaaa", name: "ci", scopes: [.admin], createdAt: at(2)), secretHash: Self.hash)
            }
            try await store.insertToken(APIToken(id: "bbbbbbbbbbbb", name: "root", scopes: [.admin], createdAt: at(3)), secretHash: Self.hash)
            #expect(try await store.allTokens().map(\.name) == ["ci", "root"])
            try await store.touchToken(id: "0123456789ab", at: at(10))
            #expect(try await store.token(id: "0123456789ab")?.token.lastUsedAt == at(10))
            #expect(try await store.deleteToken("root"))
            #expect(try await store.deleteToken("0123456789ab"))
            #expect(try await !store.deleteToken("0123456789ab"))
            #expect(try await store.allTokens().isEmpty)
        }
    }

    @Test("40 concurrent inserts, 10 of them racing for one name: exactly one wins each name", arguments: StoreKind.allCases)
    func concurrentInserts(kind: StoreKind) async throws {
        try await withTokenStore(kind) { store in
            let outcomes = try await withThrowingTaskGroup(of: Bool.self) { group in
                for i in 0..<40 {
                    group.addTask {
                        let name = i < 10 ? "contested" : "name-\(i)"
                        do {
                            try await store.insertToken(APIToken(id: String(format: "%012x", i), name: name, scopes: [.deploy]), secretHash: Self.hash)
                            return true
                        } catch let error as SwiftletError where error.code == .conflict {
                            return false
                        }
                    }
                }
                return try await group.reduce(into: [Bool]()) { $0.append($1) }
            }
            #expect(outcomes.filter { $0 }.count == 31)
            #expect(try await store.allTokens().count == 31)
        }
    }
}
