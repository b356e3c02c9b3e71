import Foundation
import SwiftletCore

/// Where Swiftlet keeps its functions, their code and the secrets they read.
///
/// One real implementation (``SQLiteStore``) and one in memory (``MemoryStore``) for unit tests:
/// ```swift
/// let store: any FunctionStore = try SQLiteStore(path: dataDir + "/swiftlet.db", logger: logger)
/// ```
///
/// A stored function's secrets always exist: inserting or updating a function that names a
/// missing secret throws `.invalidInput`, and deleting a secret a function names throws
/// `.conflict`. Secret values are never logged nor put in error messages.
public protocol FunctionStore: CodeSource, SecretSource {
    /// Stores a new function and its code. Throws `.conflict` when the name is taken and
    /// `.invalidInput` when a secret it names does not exist.
    func insertFunction(_ spec: FunctionSpec, code: Data) async throws
    /// Replaces a function and its code, keeping its `createdAt`. Throws `.notFound` when absent
    /// and `.invalidInput` when a secret it names does not exist. Returns the stored spec.
    @discardableResult
    func updateFunction(_ spec: FunctionSpec, code: Data) async throws -> FunctionSpec
    /// Removes a function; returns what was removed, or nil when it did not exist.
    func deleteFunction(named name: String) async throws -> FunctionSpec?
    /// The function called `name`, if any.
    func function(named name: String) async throws -> FunctionSpec?
    /// Every function, by name.
    func allFunctions() async throws -> [FunctionSpec]
    /// The code with this sha256 digest, if stored.
    func code(digest: String) async throws -> Data?

    /// Stores a new secret. Throws `.conflict` when the name is taken.
    func insertSecret(name: String, namespace: String, value: Data) async throws
    /// Replaces a secret's value. Throws `.notFound` when absent.
    func updateSecret(name: String, namespace: String, value: Data) async throws
    /// Removes a secret; returns false when it did not exist. Throws `.conflict`, naming them,
    /// when functions use it (checked and removed atomically, so no deploy slips in between).
    func deleteSecret(named name: String) async throws -> Bool
    /// Every secret's name and namespace, by name; never the values.
    func secretNames() async throws -> [SecretInfo]
}

extension FunctionStore where Self == MemoryStore {
    /// A store that lives in memory, for unit tests.
    public static var memory: MemoryStore { MemoryStore() }
}
