import Foundation

/// Where a provider fetches the values of a function's secrets when it starts an instance.
///
/// The Store implements it; values are decrypted only for this call and never logged.
public protocol SecretSource: Sendable {
    /// The values of the secrets called `names`. Throws `.notFound` naming every missing one.
    func secretValues(_ names: [String]) async throws -> [String: Data]
}

/// A ``SecretSource`` with no secrets, for providers and tests that need none.
public struct NoSecrets: SecretSource {
    /// Creates the empty source.
    public init() {}

    public func secretValues(_ names: [String]) async throws -> [String: Data] {
        guard names.isEmpty else {
            throw SwiftletError(.notFound, "secret '\(names[0])' not found; create it with `swiftlet secret create \(names[0])`")
        }
        return [:]
    }
}
