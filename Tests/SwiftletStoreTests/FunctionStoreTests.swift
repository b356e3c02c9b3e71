import Foundation
import Logging
import SwiftletCore
import SwiftletStore
import Testing

/// The two store implementations; every behaviour test runs against both.
enum StoreKind: String, CaseIterable, Sendable, CustomTestStringConvertible {
    case sqlite, memory
    var testDescription: String { rawValue }
}

/// A unique temporary directory, removed when `body` returns or throws.
func withTemporaryDirectory<T>(_ body: (String) async throws -> T) async throws -> T {
    let path = FileManager.default.temporaryDirectory.appendingPathComponent("swiftlet-store-tests-\(UUID().uuidString)").path
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: path) }
    return try await body(path)
}

/// Runs `body` with a fresh store of `kind` (a real SQLite file in a temporary directory for `.sqlite`).
func withStore<T>(_ kind: StoreKind, _ body: (any FunctionStore) async throws -> T) async throws -> T {
    switch kind {
    case .memory:
        return try await body(MemoryStore.memory)
    case .sqlite:
        return try await withTemporaryDirectory { dir throws in
            let store = try SQLiteStore(path: dir + "/swiftlet.db", logger: Logger(label: "swiftlet.store.tests"))
            return try await body(store)
        }
    }
}

let epoch = Date(timeIntervalSince1970: 1_700_000_000)

func makeSpec(
    _ name: String, digest: String, runtime: Runtime = .python3, envVars: [String: String] = [:], labels: [String: String] = [:],
    createdAt: Date = epoch, updatedAt: Date = epoch
) -> FunctionSpec {
    FunctionSpec(
        name: name, runtime: runtime, codeDigest: digest, envVars: envVars, labels: labels, annotations: ["a": "b"],
        constraints: ["c"], envProcess: "python index.py", limits: FunctionResources(memory: "128Mi", cpu: "500m"),
        createdAt: createdAt, updatedAt: updatedAt
    )
}

/// Returns the `SwiftletError` code `body` throws, or nil (with an issue) when it throws something else or nothing.
func swiftletErrorCode(sourceLocation: SourceLocation = #_sourceLocation, _ body: () async throws -> Void) async -> SwiftletError.Code? {
    do {
        try await body()
        Issue.record("expected a SwiftletError, nothing was thrown", sourceLocation: sourceLocation)
        return nil
    } catch let error as SwiftletError {
        return error.code
    } catch {
        Issue.record("expected a SwiftletError, got \(error)", sourceLocation: sourceLocation)
        return nil
    }
}

@Suite struct FunctionStoreTests {
    @Test(arguments: StoreKind.allCases)
    func emptyStore(_ kind: StoreKind) async throws {
        try await withStore(kind) { store throws in
            #expect(try await store.allFunctions().isEmpty)
            #expect(try await store.function(named: "hello") == nil)
            #expect(try await store.code(digest: "nothing") == nil)
            #expect(try await store.deleteFunction(named: "hello") == nil)
        }
    }

    @Test(arguments: StoreKind.allCases)
    func insertGetList(_ kind: StoreKind) async throws {
        try await withStore(kind) { store throws in
            let hello = makeSpec("hello", digest: "d-hello", envVars: ["A": "1"], labels: ["team": "x"])
            let world = makeSpec("world", digest: "d-world", runtime: .node)
            let alpha = makeSpec("alpha", digest: "d-alpha")
            try await store.insertFunction(hello, code: Data("print('hello')".utf8))
            try await store.insertFunction(world, code: Data([0x1F, 0x8B, 0x00, 0xFF]))
            try await store.insertFunction(alpha, code: Data("alpha".utf8))

            #expect(try await store.function(named: "hello") == hello)
            #expect(try await store.function(named: "world") == world)
            #expect(try await store.function(named: "nope") == nil)
            #expect(try await store.function(named: "HELLO") == nil)
            let all = try await store.allFunctions()
            #expect(all.map(\.name) == ["alpha", "hello", "world"])
            #expect(all == [alpha, hello, world])
            #expect(try await store.code(digest: "d-hello") == Data("print('hello')".utf8))
            #expect(try await store.code(digest: "d-world") == Data([0x1F, 0x8B, 0x00, 0xFF]))
            #expect(try await store.code(digest: "d-nope") == nil)
        }
    }

    @Test(arguments: StoreKind.allCases)
    func storesBinaryAndLargeCodeExactly(_ kind: StoreKind) async throws {
        try await withStore(kind) { store throws in
            var bytes = Data((0..<256).map { UInt8($0) })
            bytes += Data(repeating: 0, count: 2 * 1024 * 1024)
            bytes += Data((0..<256).map { UInt8(255 - $0) })
            try await store.insertFunction(makeSpec("big", digest: "d-big"), code: bytes)
            #expect(try await store.code(digest: "d-big") == bytes)
            try await store.insertFunction(makeSpec("empty", digest: "d-empty"), code: Data())
            #expect(try await store.code(digest: "d-empty") == Data())
        }
    }

    @Test(arguments: StoreKind.allCases)
    func hostileStringsRoundTrip(_ kind: StoreKind) async throws {
        try await withStore(kind) { store throws in
            let weird = "'; DROP TABLE functions; -- \"\\ \u{0} é 🙂"
            let spec = makeSpec("sql", digest: "d'; DROP TABLE code_blobs; --", envVars: ["A": weird], labels: [weird: weird])
            try await store.insertFunction(spec, code: Data(weird.utf8))
            #expect(try await store.function(named: "sql") == spec)
            #expect(try await store.code(digest: "d'; DROP TABLE code_blobs; --") == Data(weird.utf8))
            #expect(try await store.function(named: "' OR '1'='1") == nil)
            #expect(try await store.allFunctions().count == 1)
        }
    }

    @Test(arguments: StoreKind.allCases)
    func duplicateInsertIsAConflict(_ kind: StoreKind) async throws {
        try await withStore(kind) { store throws in
            let first = makeSpec("hello", digest: "d1")
            try await store.insertFunction(first, code: Data("one".utf8))
            let second = makeSpec("hello", digest: "d2", runtime: .node)
            let code = await swiftletErrorCode { try await store.insertFunction(second, code: Data("two".utf8)) }
            #expect(code == .conflict)
            // The first function and its code are untouched; the refused code was not kept.
            #expect(try await store.function(named: "hello") == first)
            #expect(try await store.code(digest: "d1") == Data("one".utf8))
            #expect(try await store.allFunctions().count == 1)
            #expect(try await store.code(digest: "d2") == nil)
        }
    }

    @Test(arguments: StoreKind.allCases)
    func updateOfAbsentIsNotFound(_ kind: StoreKind) async throws {
        try await withStore(kind) { store throws in
            let code = await swiftletErrorCode { try await store.updateFunction(makeSpec("ghost", digest: "dg"), code: Data("x".utf8)) }
            #expect(code == .notFound)
            #expect(try await store.function(named: "ghost") == nil)
            #expect(try await store.allFunctions().isEmpty)
            #expect(try await store.code(digest: "dg") == nil)
        }
    }

    @Test(arguments: StoreKind.allCases)
    func updateKeepsCreatedAtAndReplacesCode(_ kind: StoreKind) async throws {
        try await withStore(kind) { store throws in
            let original = makeSpec("hello", digest: "d-old", createdAt: epoch, updatedAt: epoch)
            try await store.insertFunction(original, code: Data("old".utf8))

            let later = epoch.addingTimeInterval(3600)
            let replacement = makeSpec(
                "hello", digest: "d-new", runtime: .node, envVars: ["exec_timeout": "5s"], createdAt: later, updatedAt: later
            )
            let stored = try await store.updateFunction(replacement, code: Data("new".utf8))
            #expect(stored.createdAt == epoch)
            #expect(stored.updatedAt == later)
            #expect(stored.runtime == .node)
            #expect(stored.codeDigest == "d-new")
            #expect(stored.envVars == ["exec_timeout": "5s"])

            let fetched = try #require(try await store.function(named: "hello"))
            #expect(fetched == stored)
            #expect(try await store.code(digest: "d-new") == Data("new".utf8))
            // The old code is no longer referenced and was collected.
            #expect(try await store.code(digest: "d-old") == nil)
            #expect(try await store.allFunctions().count == 1)
        }
    }

    @Test(arguments: StoreKind.allCases)
    func updateWithSameDigestKeepsCode(_ kind: StoreKind) async throws {
        try await withStore(kind) { store throws in
            try await store.insertFunction(makeSpec("hello", digest: "d"), code: Data("code".utf8))
            try await store.updateFunction(makeSpec("hello", digest: "d", labels: ["v": "2"]), code: Data("code".utf8))
            #expect(try await store.code(digest: "d") == Data("code".utf8))
            #expect(try await store.function(named: "hello")?.labels == ["v": "2"])
        }
    }

    @Test(arguments: StoreKind.allCases)
    func deleteReturnsSpecThenNil(_ kind: StoreKind) async throws {
        try await withStore(kind) { store throws in
            let hello = makeSpec("hello", digest: "d-hello")
            let other = makeSpec("other", digest: "d-other")
            try await store.insertFunction(hello, code: Data("h".utf8))
            try await store.insertFunction(other, code: Data("o".utf8))

            #expect(try await store.deleteFunction(named: "hello") == hello)
            #expect(try await store.deleteFunction(named: "hello") == nil)
            #expect(try await store.function(named: "hello") == nil)
            #expect(try await store.code(digest: "d-hello") == nil)
            // The other function is untouched.
            #expect(try await store.allFunctions() == [other])
            #expect(try await store.code(digest: "d-other") == Data("o".utf8))

            // The name can be used again after a delete.
            try await store.insertFunction(makeSpec("hello", digest: "d-again"), code: Data("again".utf8))
            #expect(try await store.function(named: "hello")?.codeDigest == "d-again")
        }
    }

    @Test(arguments: StoreKind.allCases)
    func sharedCodeSurvivesUntilTheLastUserGoes(_ kind: StoreKind) async throws {
        try await withStore(kind) { store throws in
            try await store.insertFunction(makeSpec("one", digest: "shared"), code: Data("same".utf8))
            try await store.insertFunction(makeSpec("two", digest: "shared"), code: Data("same".utf8))
            _ = try await store.deleteFunction(named: "one")
            #expect(try await store.code(digest: "shared") == Data("same".utf8))
            try await store.updateFunction(makeSpec("two", digest: "other"), code: Data("other".utf8))
            #expect(try await store.code(digest: "shared") == nil)
            #expect(try await store.code(digest: "other") == Data("other".utf8))
            _ = try await store.deleteFunction(named: "two")
            #expect(try await store.code(digest: "other") == nil)
            #expect(try await store.allFunctions().isEmpty)
        }
    }

    @Test(arguments: StoreKind.allCases)
    func concurrentInsertsOfTheSameNameHaveOneWinner(_ kind: StoreKind) async throws {
        try await withStore(kind) { store throws in
            let outcomes = await withTaskGroup(of: String.self) { group in
                for i in 0..<50 {
                    group.addTask {
                        do {
                            try await store.insertFunction(makeSpec("race", digest: "d\(i)"), code: Data("code \(i)".utf8))
                            return "ok d\(i)"
                        } catch let error as SwiftletError {
                            return error.code.rawValue
                        } catch {
                            return "other: \(error)"
                        }
                    }
                }
                var all: [String] = []
                for await outcome in group { all.append(outcome) }
                return all
            }
            let winners = outcomes.filter { $0.hasPrefix("ok ") }
            #expect(outcomes.count == 50)
            #expect(winners.count == 1)
            #expect(outcomes.filter { $0 == SwiftletError.Code.conflict.rawValue }.count == 49)
            let winnerDigest = try #require(winners.first).dropFirst(3)
            let stored = try #require(try await store.function(named: "race"))
            #expect(stored.codeDigest == String(winnerDigest))
            #expect(try await store.code(digest: stored.codeDigest) == Data("code \(winnerDigest.dropFirst())".utf8))
            #expect(try await store.allFunctions().count == 1)
        }
    }

    @Test(arguments: StoreKind.allCases)
    func concurrentInsertsOfDifferentNamesAllSucceed(_ kind: StoreKind) async throws {
        try await withStore(kind) { store throws in
            let failures = await withTaskGroup(of: String?.self) { group in
                for i in 0..<50 {
                    group.addTask {
                        do {
                            try await store.insertFunction(makeSpec("fn-\(i)", digest: "d-\(i)"), code: Data("code \(i)".utf8))
                            return nil
                        } catch {
                            return "fn-\(i): \(error)"
                        }
                    }
                }
                var failures: [String] = []
                for await failure in group { if let failure { failures.append(failure) } }
                return failures
            }
            #expect(failures.isEmpty)
            let all = try await store.allFunctions()
            #expect(all.count == 50)
            #expect(Set(all.map(\.name)) == Set((0..<50).map { "fn-\($0)" }))
            #expect(all.map(\.name) == all.map(\.name).sorted())
            for i in [0, 17, 49] {
                #expect(try await store.code(digest: "d-\(i)") == Data("code \(i)".utf8))
            }
        }
    }

    @Test(arguments: StoreKind.allCases)
    func concurrentUpdatesAndReadsStayConsistent(_ kind: StoreKind) async throws {
        try await withStore(kind) { store throws in
            try await store.insertFunction(makeSpec("hot", digest: "v0"), code: Data("v0".utf8))
            try await withThrowingTaskGroup(of: Void.self) { group in
                for i in 1...20 {
                    group.addTask { try await store.updateFunction(makeSpec("hot", digest: "v\(i)"), code: Data("v\(i)".utf8)) }
                    group.addTask {
                        // Whatever version is read, it is whole and keeps the first createdAt.
                        let spec = try await store.function(named: "hot")
                        #expect(spec?.createdAt == epoch)
                        #expect(spec?.codeDigest.hasPrefix("v") == true)
                    }
                }
                try await group.waitForAll()
            }
            let final = try #require(try await store.function(named: "hot"))
            #expect(try await store.code(digest: final.codeDigest) == Data(final.codeDigest.utf8))
            // Only the final version's code is kept.
            var kept = 0
            for i in 0...20 where try await store.code(digest: "v\(i)") != nil { kept += 1 }
            #expect(kept == 1)
            #expect(final.createdAt == epoch)
        }
    }
}

@Suite struct SQLiteStoreTests {
    private let logger = Logger(label: "swiftlet.store.tests")

    @Test func persistsAcrossReopening() async throws {
        try await withTemporaryDirectory { dir throws in
            let path = dir + "/swiftlet.db"
            let hello = makeSpec("hello", digest: "d-hello", envVars: ["A": "1"])
            let gone = makeSpec("gone", digest: "d-gone")
            do {
                let store = try SQLiteStore(path: path, logger: logger)
                try await store.insertFunction(hello, code: Data("hello code".utf8))
                try await store.insertFunction(gone, code: Data("gone code".utf8))
                _ = try await store.deleteFunction(named: "gone")
            }
            #expect(FileManager.default.fileExists(atPath: path))
            do {
                // Re-opening runs the migrator again: it must be a no-op.
                let store = try SQLiteStore(path: path, logger: logger)
                #expect(try await store.function(named: "hello") == hello)
                #expect(try await store.allFunctions() == [hello])
                #expect(try await store.code(digest: "d-hello") == Data("hello code".utf8))
                #expect(try await store.code(digest: "d-gone") == nil)
                let code = await swiftletErrorCode { try await store.insertFunction(hello, code: Data("x".utf8)) }
                #expect(code == .conflict)
                try await store.updateFunction(makeSpec("hello", digest: "d2", createdAt: epoch.addingTimeInterval(10)), code: Data("v2".utf8))
            }
            let store = try SQLiteStore(path: path, logger: logger)
            let reopened = try #require(try await store.function(named: "hello"))
            #expect(reopened.codeDigest == "d2")
            #expect(reopened.createdAt == epoch)
            #expect(try await store.code(digest: "d2") == Data("v2".utf8))
            #expect(try await store.code(digest: "d-hello") == nil)
        }
    }

    @Test func twoStoresOnTheSameFileSeeEachOther() async throws {
        try await withTemporaryDirectory { dir throws in
            let path = dir + "/swiftlet.db"
            let a = try SQLiteStore(path: path, logger: logger)
            let b = try SQLiteStore(path: path, logger: logger)
            try await a.insertFunction(makeSpec("hello", digest: "d"), code: Data("c".utf8))
            #expect(try await b.function(named: "hello")?.codeDigest == "d")
            let code = await swiftletErrorCode { try await b.insertFunction(makeSpec("hello", digest: "e"), code: Data("e".utf8)) }
            #expect(code == .conflict)
        }
    }

    @Test func sqliteFileIsCreatedInAFreshDirectory() async throws {
        try await withTemporaryDirectory { dir throws in
            _ = try SQLiteStore(path: dir + "/swiftlet.db", logger: logger)
            #expect(FileManager.default.fileExists(atPath: dir + "/swiftlet.db"))
        }
    }

    @Test func unopenableDatabaseIsAnInternalErrorWithAMessage() async throws {
        try await withTemporaryDirectory { dir throws in
            // A missing parent directory.
            do {
                _ = try SQLiteStore(path: dir + "/missing/dir/swiftlet.db", logger: logger)
                Issue.record("opening a database in a missing directory succeeded")
            } catch let error as SwiftletError {
                #expect(error.code == .internal)
                #expect(error.message.contains("missing/dir/swiftlet.db"))
            }
            // A file that is not a database.
            let garbage = dir + "/garbage.db"
            try Data(repeating: 0x42, count: 8192).write(to: URL(fileURLWithPath: garbage))
            do {
                _ = try SQLiteStore(path: garbage, logger: logger)
                Issue.record("opening a garbage file as a database succeeded")
            } catch let error as SwiftletError {
                #expect(error.code == .internal)
                #expect(error.cause != nil)
            }
        }
    }

    @Test func withTemporaryDirectoryRemovesItOnThrow() async throws {
        struct Boom: Error {}
        var seen = ""
        do {
            try await withTemporaryDirectory { dir throws in
                seen = dir
                try Data("x".utf8).write(to: URL(fileURLWithPath: dir + "/f"))
                throw Boom()
            }
        } catch is Boom {}
        #expect(!seen.isEmpty)
        #expect(!FileManager.default.fileExists(atPath: seen))
    }
}
