import Foundation

/// Where a provider fetches a function's code by digest (the Store).
public protocol CodeSource: Sendable {
    /// The code with this sha256 digest, if stored.
    func code(digest: String) async throws -> Data?
}
