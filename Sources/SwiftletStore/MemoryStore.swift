import Foundation
import SwiftletCore

/// A ``FunctionStore`` in memory, for unit tests. Secret values are kept in plain memory.
public actor MemoryStore: FunctionStore, AsyncCallStore {
    var functions: [String: FunctionSpec] = [:]
    private var blobs: [String: Data] = [:]
    /// Secrets by name: their namespace and value.
    var secrets: [String: (namespace: String, value: Data)] = [:]
    /// API tokens by id, with their secrets' hashes.
    var tokens: [String: (token: APIToken, secretHash: Data)] = [:]
    /// Async calls by id, with the order they were accepted in and their leases.
    var asyncCalls: [String: MemoryAsyncCall] = [:]
    /// The next acceptance number.
    var nextSequence = 0

    /// Creates an empty store.
    public init() {}

    public func insertFunction(_ spec: FunctionSpec, code: Data) throws {
        guard functions[spec.name] == nil else {
            throw SwiftletError(.conflict, "function '\(spec.name)' already exists; update it with PUT or remove it first")
        }
        try requireSecrets(spec.secrets)
        functions[spec.name] = spec
        blobs[spec.codeDigest] = code
    }

    @discardableResult
    public func updateFunction(_ spec: FunctionSpec, code: Data) throws -> FunctionSpec {
        guard let old = functions[spec.name] else {
            throw SwiftletError(.notFound, "function '\(spec.name)' not found; deploy it first")
        }
        try requireSecrets(spec.secrets)
        var updated = spec
        updated.createdAt = old.createdAt
        functions[spec.name] = updated
        blobs[spec.codeDigest] = code
        collect()
        return updated
    }

    public func deleteFunction(named name: String) -> FunctionSpec? {
        let removed = functions.removeValue(forKey: name)
        collect()
        return removed
    }

    public func function(named name: String) -> FunctionSpec? { functions[name] }

    public func allFunctions() -> [FunctionSpec] { functions.values.sorted { $0.name < $1.name } }

    public func code(digest: String) -> Data? { blobs[digest] }

    private func collect() {
        let used = Set(functions.values.map(\.codeDigest))
        blobs = blobs.filter { used.contains($0.key) }
    }
}
