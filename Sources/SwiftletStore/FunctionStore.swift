import Foundation
import SwiftletCore

/// Where Swiftlet keeps its functions and their code.
///
/// One real implementation (``SQLiteStore``) and one in memory (``MemoryStore``) for unit tests:
/// ```swift
/// let store: any FunctionStore = try SQLiteStore(path: dataDir + "/swiftlet.db", logger: logger)
/// ```
public protocol FunctionStore: CodeSource {
    /// Stores a new function and its code. Throws `.conflict` when the name is taken.
    func insertFunction(_ spec: FunctionSpec, code: Data) async throws
    /// Replaces a function and its code, keeping its `createdAt`. Throws `.notFound` when absent.
    /// Returns the stored spec.
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
}

extension FunctionStore where Self == MemoryStore {
    /// A store that lives in memory, for unit tests.
    public static var memory: MemoryStore { MemoryStore() }
}
