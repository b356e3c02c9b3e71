import Foundation
import SwiftletCore

extension MemoryStore: TokenStore {
    public func insertToken(_ token: APIToken, secretHash: Data) throws {
        guard tokens[token.id] == nil, !tokens.values.contains(where: { $0.token.name == token.name }) else {
            throw SwiftletError(.conflict, "a token named '\(token.name)' already exists; revoke it first or choose another name")
        }
        tokens[token.id] = (token, secretHash)
    }

    public func token(id: String) -> (token: APIToken, secretHash: Data)? {
        tokens[id]
    }

    public func allTokens() -> [APIToken] {
        tokens.values.map(\.token).sorted { ($0.createdAt, $0.name) < ($1.createdAt, $1.name) }
    }

    public func deleteToken(_ idOrName: String) -> Bool {
        if tokens.removeValue(forKey: idOrName) != nil { return true }
        guard let id = tokens.first(where: { $0.value.token.name == idOrName })?.key else { return false }
        tokens.removeValue(forKey: id)
        return true
    }

    public func touchToken(id: String, at date: Date) {
        tokens[id]?.token.lastUsedAt = date
    }
}
