import Foundation
import SwiftletCore

/// Where API tokens are kept: their records and the SHA-256 of their secrets, never the secrets.
public protocol TokenStore: Sendable {
    /// Stores a new token; `.conflict` when its name or id is taken.
    func insertToken(_ token: APIToken, secretHash: Data) async throws
    /// The token with `id` and its secret's hash, or nil.
    func token(id: String) async throws -> (token: APIToken, secretHash: Data)?
    /// Every token, oldest first.
    func allTokens() async throws -> [APIToken]
    /// Removes the token with `id` (or, when none has that id, the one named `id`); false when neither exists.
    func deleteToken(_ idOrName: String) async throws -> Bool
    /// Records that the token was used at `date`.
    func touchToken(id: String, at date: Date) async throws
}
