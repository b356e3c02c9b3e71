import Foundation
import Logging
import SwiftletCore
import Testing

@testable import SwiftletStore

/// Returns the `SwiftletError` `body` throws, recording an issue when it throws something else or nothing.
private func swiftletError(sourceLocation: SourceLocation = #_sourceLocation, _ body: () async throws -> Void) async -> SwiftletError? {
    do {
        try await body()
        Issue.record("expected a SwiftletError, nothing was thrown", sourceLocation: sourceLocation)
        return nil
    } catch let error as SwiftletError {
        return error
    } catch {
        Issue.record("expected a SwiftletError, got \(error)", sourceLocation: sourceLocation)
        return nil
    }
}

/// Whether `needle` occurs anywhere in `haystack`.
private func contains(_ haystack: Data, _ needle: Data) -> Bool {
    haystack.range(of: needle) != nil
}

/// A spec for `name` that uses `secrets`.
private func specUsing(_ name: String, _ secrets: [String]) -> FunctionSpec {
    var spec = makeSpec(name, digest: "d-\(name)")
    spec.secrets = secrets
    return spec
}

/// Every log line (message and metadata), at every level, for checking what is never logged.
final class RecordedLogs: @unchecked Sendable {
    private let lock = NSLock()
    private var lines: [String] = []

    func append(_ line: String) { lock.withLock { lines.append(line) } }
    var all: [String] { lock.withLock { lines } }

    /// A trace-level logger that records here.
    func logger() -> Logger {
        var logger = Logger(label: "swiftlet.secret.tests") { _ in RecordingLogHandler(logs: self) }
        logger.logLevel = .trace
        return logger
    }
}

struct RecordingLogHandler: LogHandler {
    let logs: RecordedLogs
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level = .trace

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        let all = metadata.merging(event.metadata ?? [:]) { $1 }
        logs.append("\(event.level) \(event.message) \(all)")
    }
}

@Suite struct SecretStoreTests {
    @Test(arguments: StoreKind.allCases)
    func createListReadUpdateDelete(_ kind: StoreKind) async throws {
        try await withStore(kind) { store throws in
            #expect(try await store.secretNames().isEmpty)
            #expect(try await store.secretValues([]) == [:])

            let binary = Data([0x00, 0xFF, 0x10, 0x80, 0x0A, 0x00])
            try await store.insertSecret(name: "db-pass", namespace: "openfaas-fn", value: Data("hunter2".utf8))
            try await store.insertSecret(name: "blob", namespace: "openfaas-fn", value: binary)
            try await store.insertSecret(name: "empty", namespace: "openfaas-fn", value: Data())

            #expect(try await store.secretNames() == [SecretInfo(name: "blob"), SecretInfo(name: "db-pass"), SecretInfo(name: "empty")])
            let values = try await store.secretValues(["db-pass", "blob", "empty"])
            #expect(values == ["db-pass": Data("hunter2".utf8), "blob": binary, "empty": Data()])
            #expect(try await store.secretValues(["db-pass"]) == ["db-pass": Data("hunter2".utf8)])

            let duplicate = await swiftletError { try await store.insertSecret(name: "db-pass", namespace: "openfaas-fn", value: Data("other".utf8)) }
            #expect(duplicate?.code == .conflict)
            #expect(duplicate?.message.contains("'db-pass' already exists") == true)
            #expect(duplicate?.message.contains("other") == false)
            #expect(try await store.secretValues(["db-pass"]) == ["db-pass": Data("hunter2".utf8)])

            try await store.updateSecret(name: "db-pass", namespace: "openfaas-fn", value: Data("correct horse".utf8))
            #expect(try await store.secretValues(["db-pass"]) == ["db-pass": Data("correct horse".utf8)])
            let absent = await swiftletError { try await store.updateSecret(name: "ghost", namespace: "openfaas-fn", value: Data("boo".utf8)) }
            #expect(absent?.code == .notFound)
            #expect(absent?.message.contains("swiftlet secret create ghost") == true)
            #expect(try await store.secretNames().map(\.name) == ["blob", "db-pass", "empty"])

            #expect(try await store.deleteSecret(named: "db-pass"))
            #expect(try await store.deleteSecret(named: "db-pass") == false)
            #expect(try await store.deleteSecret(named: "never") == false)
            #expect(try await store.secretNames().map(\.name) == ["blob", "empty"])

            // The name can be used again after a delete.
            try await store.insertSecret(name: "db-pass", namespace: "openfaas-fn", value: Data("again".utf8))
            #expect(try await store.secretValues(["db-pass"]) == ["db-pass": Data("again".utf8)])
        }
    }

    @Test(arguments: StoreKind.allCases)
    func missingSecretsAreNamedAll(_ kind: StoreKind) async throws {
        try await withStore(kind) { store throws in
            try await store.insertSecret(name: "here", namespace: "openfaas-fn", value: Data("v".utf8))
            let one = await swiftletError { _ = try await store.secretValues(["here", "gone"]) }
            #expect(one?.code == .notFound)
            #expect(one?.message == "secret 'gone' not found; create it with `swiftlet secret create gone`")
            let two = await swiftletError { _ = try await store.secretValues(["x", "here", "y", "x"]) }
            #expect(two?.code == .notFound)
            #expect(two?.message.contains("'x', 'y'") == true)
        }
    }

    @Test(arguments: StoreKind.allCases)
    func functionsNeedTheirSecrets(_ kind: StoreKind) async throws {
        try await withStore(kind) { store throws in
            let refused = await swiftletError { try await store.insertFunction(specUsing("app", ["db-pass"]), code: Data("c".utf8)) }
            #expect(refused?.code == .invalidInput)
            #expect(refused?.message == "secret 'db-pass' not found; create it with `swiftlet secret create db-pass`")
            #expect(try await store.function(named: "app") == nil)

            try await store.insertSecret(name: "db-pass", namespace: "openfaas-fn", value: Data("v".utf8))
            try await store.insertFunction(specUsing("app", ["db-pass"]), code: Data("c".utf8))
            #expect(try await store.function(named: "app")?.secrets == ["db-pass"])

            let update = await swiftletError { try await store.updateFunction(specUsing("app", ["db-pass", "api-key"]), code: Data("c".utf8)) }
            #expect(update?.code == .invalidInput)
            #expect(update?.message.contains("'api-key'") == true)
            #expect(try await store.function(named: "app")?.secrets == ["db-pass"])
        }
    }

    @Test(arguments: StoreKind.allCases)
    func secretsInUseCannotBeDeleted(_ kind: StoreKind) async throws {
        try await withStore(kind) { store throws in
            try await store.insertSecret(name: "db-pass", namespace: "openfaas-fn", value: Data("v".utf8))
            try await store.insertSecret(name: "other", namespace: "openfaas-fn", value: Data("o".utf8))
            try await store.insertFunction(specUsing("b-app", ["other", "db-pass"]), code: Data("c".utf8))
            try await store.insertFunction(specUsing("a-app", ["db-pass"]), code: Data("c".utf8))
            try await store.insertFunction(specUsing("c-app", []), code: Data("c".utf8))

            let inUse = await swiftletError { _ = try await store.deleteSecret(named: "db-pass") }
            #expect(inUse?.code == .conflict)
            #expect(inUse?.message.hasPrefix("secret 'db-pass' is used by functions 'a-app', 'b-app'; remove it from them first") == true)
            #expect(try await store.secretValues(["db-pass"]) == ["db-pass": Data("v".utf8)])

            _ = try await store.deleteFunction(named: "a-app")
            let stillUsed = await swiftletError { _ = try await store.deleteSecret(named: "db-pass") }
            #expect(stillUsed?.message.hasPrefix("secret 'db-pass' is used by function 'b-app';") == true)

            try await store.updateFunction(specUsing("b-app", ["other"]), code: Data("c".utf8))
            #expect(try await store.deleteSecret(named: "db-pass"))
            #expect(try await store.secretNames().map(\.name) == ["other"])
        }
    }

    @Test(arguments: StoreKind.allCases)
    func concurrentInsertsOfTheSameSecretHaveOneWinner(_ kind: StoreKind) async throws {
        try await withStore(kind) { store throws in
            let outcomes = await withTaskGroup(of: String.self) { group in
                for i in 0..<40 {
                    group.addTask {
                        do {
                            try await store.insertSecret(name: "race", namespace: "openfaas-fn", value: Data("value \(i)".utf8))
                            return "ok value \(i)"
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
            #expect(winners.count == 1)
            #expect(outcomes.filter { $0 == SwiftletError.Code.conflict.rawValue }.count == 39, "\(outcomes)")
            let winner = try #require(winners.first).dropFirst(3)
            #expect(try await store.secretValues(["race"]) == ["race": Data(winner.utf8)])
        }
    }

    @Test(arguments: StoreKind.allCases)
    func deleteRacingADeployNeverLeavesAFunctionWithoutItsSecret(_ kind: StoreKind) async throws {
        try await withStore(kind) { store throws in
            for round in 0..<20 {
                let name = "s\(round)"
                try await store.insertSecret(name: name, namespace: "openfaas-fn", value: Data("v".utf8))
                async let deleted = try? store.deleteSecret(named: name)
                async let deployed: Bool = (try? await store.insertFunction(specUsing("f\(round)", [name]), code: Data("c".utf8))) != nil
                let (wasDeleted, wasDeployed) = await (deleted, deployed)
                // Exactly one of them wins, whichever order they ran in.
                #expect((wasDeleted == true) != wasDeployed, "round \(round): deleted \(String(describing: wasDeleted)), deployed \(wasDeployed)")
                let stored = try await store.secretNames().contains { $0.name == name }
                #expect(stored == wasDeployed)
            }
        }
    }
}

@Suite struct SQLiteSecretStoreTests {
    @Test func valuesAreEncryptedAtRest() async throws {
        try await withTemporaryDirectory { dir throws in
            let logs = RecordedLogs()
            let path = dir + "/swiftlet.db"
            let store = try SQLiteStore(path: path, logger: logs.logger())
            #expect(!FileManager.default.fileExists(atPath: dir + "/secrets.key"), "the key is created on first use")
            let first = "PLAINTEXT-MARKER-\(UUID().uuidString)"
            let second = "SECOND-MARKER-\(UUID().uuidString)"
            try await store.insertSecret(name: "marker", namespace: "openfaas-fn", value: Data(first.utf8))
            try await store.insertSecret(name: "big", namespace: "openfaas-fn", value: Data(String(repeating: first, count: 2000).utf8))
            try await store.updateSecret(name: "marker", namespace: "openfaas-fn", value: Data(second.utf8))
            #expect(try await store.secretValues(["marker"]) == ["marker": Data(second.utf8)])

            var files = 0
            for file in try FileManager.default.contentsOfDirectory(atPath: dir) where file.hasPrefix("swiftlet.db") {
                let bytes = try Data(contentsOf: URL(fileURLWithPath: dir + "/" + file))
                files += 1
                for value in [first, second, "PLAINTEXT-MARKER"] {
                    #expect(!contains(bytes, Data(value.utf8)), "\(file) holds a plaintext value")
                    #expect(!contains(bytes, Data(Data(value.utf8).base64EncodedString().utf8)), "\(file) holds a base64 value")
                }
            }
            #expect(files >= 2, "the database and its -wal file were both read")
            #expect(FileManager.default.fileExists(atPath: path + "-wal"))
            #expect(logs.all.contains { $0.contains("marker") }, "the store logs secret names")
            #expect(!logs.all.contains { $0.contains("MARKER-") }, "the store never logs values")
        }
    }

    @Test func keyFileIsPrivateAndReopeningReadsTheValues() async throws {
        try await withTemporaryDirectory { dir throws in
            let path = dir + "/swiftlet.db"
            let logger = Logger(label: "swiftlet.secret.tests")
            do {
                let store = try SQLiteStore(path: path, logger: logger)
                try await store.insertSecret(name: "db-pass", namespace: "openfaas-fn", value: Data("hunter2".utf8))
            }
            let attributes = try FileManager.default.attributesOfItem(atPath: dir + "/secrets.key")
            #expect((attributes[.posixPermissions] as? NSNumber)?.intValue == 0o600)
            #expect((attributes[.size] as? NSNumber)?.intValue == 32)
            #expect(attributes[.type] as? FileAttributeType == .typeRegular)
            #expect(try FileManager.default.contentsOfDirectory(atPath: dir).filter { $0.contains("secrets.key.new") }.isEmpty)
            let key = try Data(contentsOf: URL(fileURLWithPath: dir + "/secrets.key"))

            let reopened = try SQLiteStore(path: path, logger: logger)
            #expect(try await reopened.secretValues(["db-pass"]) == ["db-pass": Data("hunter2".utf8)])
            try await reopened.insertSecret(name: "second", namespace: "openfaas-fn", value: Data("two".utf8))
            #expect(try Data(contentsOf: URL(fileURLWithPath: dir + "/secrets.key")) == key, "the key is never replaced")
        }
    }

    @Test func twoStoresCreatingTheKeyAtOnceShareOne() async throws {
        try await withTemporaryDirectory { dir throws in
            let logger = Logger(label: "swiftlet.secret.tests")
            let a = try SQLiteStore(path: dir + "/swiftlet.db", logger: logger)
            let b = try SQLiteStore(path: dir + "/swiftlet.db", logger: logger)
            async let first: Void = a.insertSecret(name: "one", namespace: "openfaas-fn", value: Data("1".utf8))
            async let second: Void = b.insertSecret(name: "two", namespace: "openfaas-fn", value: Data("2".utf8))
            _ = try await (first, second)
            #expect(try await a.secretValues(["one", "two"]) == ["one": Data("1".utf8), "two": Data("2".utf8)])
            #expect(try await b.secretValues(["one", "two"]) == ["one": Data("1".utf8), "two": Data("2".utf8)])
        }
    }

    @Test(arguments: [0, 16, 31, 33, 64])
    func damagedKeyFileIsAClearError(_ size: Int) async throws {
        try await withTemporaryDirectory { dir throws in
            let path = dir + "/swiftlet.db"
            let logger = Logger(label: "swiftlet.secret.tests")
            try await SQLiteStore(path: path, logger: logger).insertSecret(name: "db-pass", namespace: "openfaas-fn", value: Data("hunter2".utf8))
            let keyPath = dir + "/secrets.key"
            let key = try Data(contentsOf: URL(fileURLWithPath: keyPath))
            try (key + key + key).prefix(size).write(to: URL(fileURLWithPath: keyPath))

            let store = try SQLiteStore(path: path, logger: logger)
            let read = await swiftletError { _ = try await store.secretValues(["db-pass"]) }
            #expect(read?.code == .internal)
            #expect(read?.message.contains(keyPath) == true)
            #expect(read?.message.contains("holds \(size) bytes instead of 32") == true, "\(read?.message ?? "")")
            #expect(read?.message.contains("hunter2") == false)
            let write = await swiftletError { try await store.insertSecret(name: "new", namespace: "openfaas-fn", value: Data("v".utf8)) }
            #expect(write?.message.contains("damaged") == true)
            // Names still list and functions without secrets still work.
            #expect(try await store.secretNames().map(\.name) == ["db-pass"])
            #expect(try await store.secretValues([]) == [:])
        }
    }

    @Test func unreadableOrMissingKeyFileIsAClearError() async throws {
        try await withTemporaryDirectory { dir throws in
            let path = dir + "/swiftlet.db"
            let logger = Logger(label: "swiftlet.secret.tests")
            try await SQLiteStore(path: path, logger: logger).insertSecret(name: "db-pass", namespace: "openfaas-fn", value: Data("hunter2".utf8))
            let keyPath = dir + "/secrets.key"
            let key = try Data(contentsOf: URL(fileURLWithPath: keyPath))

            // A directory where the key should be.
            try FileManager.default.removeItem(atPath: keyPath)
            try FileManager.default.createDirectory(atPath: keyPath, withIntermediateDirectories: false)
            let directory = await swiftletError { _ = try await SQLiteStore(path: path, logger: logger).secretValues(["db-pass"]) }
            #expect(directory?.code == .internal)
            #expect(directory?.message.contains(keyPath) == true)
            try FileManager.default.removeItem(atPath: keyPath)

            // A missing key while secrets are stored: no new key is made (it could not open them).
            let store = try SQLiteStore(path: path, logger: logger)
            let missing = await swiftletError { _ = try await store.secretValues(["db-pass"]) }
            #expect(missing?.message.contains("is missing while 1 secrets are stored") == true, "\(missing?.message ?? "")")
            let insert = await swiftletError { try await store.insertSecret(name: "new", namespace: "openfaas-fn", value: Data("v".utf8)) }
            #expect(insert?.code == .internal)
            #expect(!FileManager.default.fileExists(atPath: keyPath))

            // Restoring the key brings the values back.
            try key.write(to: URL(fileURLWithPath: keyPath))
            #expect(try await SQLiteStore(path: path, logger: logger).secretValues(["db-pass"]) == ["db-pass": Data("hunter2".utf8)])
        }
    }

    @Test func aDifferentKeyCannotOpenTheValues() async throws {
        try await withTemporaryDirectory { dir throws in
            let path = dir + "/swiftlet.db"
            let logger = Logger(label: "swiftlet.secret.tests")
            try await SQLiteStore(path: path, logger: logger).insertSecret(name: "db-pass", namespace: "openfaas-fn", value: Data("hunter2".utf8))
            try Data((0..<32).map { _ in UInt8.random(in: 0...255) }).write(to: URL(fileURLWithPath: dir + "/secrets.key"))
            let error = await swiftletError { _ = try await SQLiteStore(path: path, logger: logger).secretValues(["db-pass"]) }
            #expect(error?.code == .internal)
            #expect(error?.message.contains("cannot decrypt secret 'db-pass'") == true)
            #expect(error?.message.contains("hunter2") == false)
        }
    }

    @Test func sealedValuesOpenOnlyUnderTheirOwnNameAndKey() throws {
        let cipher = SecretCipher(key: .init(size: .bits256))
        let value = Data("hunter2".utf8)
        let sealed = try cipher.seal(value, name: "db-pass")
        #expect(sealed.count == 12 + value.count + 16, "nonce + ciphertext + tag, nothing else")
        #expect(!contains(sealed, value))
        #expect(try cipher.open(sealed, name: "db-pass", keyPath: "k") == value)
        #expect(try cipher.seal(value, name: "db-pass") != sealed, "every seal takes a new nonce")
        // A row moved under another name, a changed byte, or another key: refused.
        #expect(throws: SwiftletError.self) { try cipher.open(sealed, name: "api-key", keyPath: "k") }
        var altered = sealed
        altered[14] ^= 0x01
        #expect(throws: SwiftletError.self) { try cipher.open(altered, name: "db-pass", keyPath: "k") }
        #expect(throws: SwiftletError.self) { try SecretCipher(key: .init(size: .bits256)).open(sealed, name: "db-pass", keyPath: "k") }
        #expect(throws: SwiftletError.self) { try cipher.open(Data([1, 2, 3]), name: "db-pass", keyPath: "k") }
        #expect(try cipher.open(try cipher.seal(Data(), name: "empty"), name: "empty", keyPath: "k") == Data())
    }
}
