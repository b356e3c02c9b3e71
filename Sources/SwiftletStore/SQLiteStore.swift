import Crypto
import Foundation
import GRDB
import Logging
import SwiftletCore
import Synchronization

/// The embedded ``FunctionStore``: one SQLite file (WAL mode) with versioned, transactional
/// migrations.
///
/// Secret values are sealed with AES-256-GCM; the key is the file `secrets.key` (mode 0600)
/// next to the database, created when the first secret is stored.
public final class SQLiteStore: FunctionStore, AsyncCallStore {
    let pool: DatabasePool
    let logger: Logger
    /// Where the secrets key lives.
    let keyFile: SecretKeyFile
    /// The key once read or created.
    let cachedKey = Mutex<SymmetricKey?>(nil)

    /// Opens (or creates) the database at `path` and migrates it to the current schema.
    public init(path: String, logger: Logger) throws {
        var configuration = Configuration()
        configuration.busyMode = .timeout(5)
        configuration.prepareDatabase { db in
            try db.execute(sql: "PRAGMA synchronous = NORMAL")
        }
        do {
            pool = try DatabasePool(path: path, configuration: configuration)
            try Self.migrator.migrate(pool)
        } catch {
            throw SwiftletError(.internal, "cannot open the database at \(path): check that the data directory is writable and not used by another swiftlet", cause: error)
        }
        self.logger = logger
        self.keyFile = SecretKeyFile(nextTo: path)
    }

    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1-functions") { db in
            try db.execute(
                sql: """
                    CREATE TABLE code_blobs (
                        digest TEXT PRIMARY KEY NOT NULL,
                        size INTEGER NOT NULL,
                        data BLOB NOT NULL
                    );
                    CREATE TABLE functions (
                        name TEXT PRIMARY KEY NOT NULL,
                        namespace TEXT NOT NULL,
                        code_digest TEXT NOT NULL REFERENCES code_blobs(digest),
                        spec TEXT NOT NULL,
                        created_at REAL NOT NULL,
                        updated_at REAL NOT NULL
                    );
                    """
            )
        }
        migrator.registerMigration("v2-secrets") { db in
            // `sealed` is AES-GCM's nonce + ciphertext + tag, with the name as authenticated data.
            try db.execute(
                sql: """
                    CREATE TABLE secrets (
                        name TEXT PRIMARY KEY NOT NULL,
                        namespace TEXT NOT NULL,
                        sealed BLOB NOT NULL,
                        created_at REAL NOT NULL,
                        updated_at REAL NOT NULL
                    );
                    """
            )
        }
        migrator.registerMigration("v3-async-calls") { db in
            try db.execute(sql: AsyncCallRow.schema)
        }
        migrator.registerMigration("v4-api-tokens") { db in
            try db.execute(sql: tokensSchema)
        }
        return migrator
    }

    public func insertFunction(_ spec: FunctionSpec, code: Data) async throws {
        let json = try Self.encode(spec)
        do {
            try await pool.write { db in
                try Self.requireSecrets(db, spec.secrets)
                try Self.putBlob(db, digest: spec.codeDigest, data: code)
                try db.execute(
                    sql: "INSERT INTO functions (name, namespace, code_digest, spec, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)",
                    arguments: [spec.name, spec.namespace, spec.codeDigest, json, spec.createdAt.timeIntervalSince1970, spec.updatedAt.timeIntervalSince1970]
                )
            }
        } catch let error as DatabaseError where error.extendedResultCode == .SQLITE_CONSTRAINT_PRIMARYKEY {
            throw SwiftletError(.conflict, "function '\(spec.name)' already exists; update it with PUT (`swiftlet deploy --update`) or remove it first")
        }
        logger.debug("stored function", metadata: ["swiftlet.function": "\(spec.name)"])
    }

    @discardableResult
    public func updateFunction(_ spec: FunctionSpec, code: Data) async throws -> FunctionSpec {
        try await pool.write { db in
            guard let row = try Row.fetchOne(db, sql: "SELECT spec FROM functions WHERE name = ?", arguments: [spec.name]) else {
                throw SwiftletError(.notFound, "function '\(spec.name)' not found; deploy it first with POST")
            }
            let old = try Self.decode(row["spec"])
            try Self.requireSecrets(db, spec.secrets)
            var updated = spec
            updated.createdAt = old.createdAt
            try Self.putBlob(db, digest: spec.codeDigest, data: code)
            try db.execute(
                sql: "UPDATE functions SET namespace = ?, code_digest = ?, spec = ?, updated_at = ? WHERE name = ?",
                arguments: [updated.namespace, updated.codeDigest, try Self.encode(updated), updated.updatedAt.timeIntervalSince1970, updated.name]
            )
            try Self.collectBlobs(db)
            return updated
        }
    }

    public func deleteFunction(named name: String) async throws -> FunctionSpec? {
        try await pool.write { db in
            guard let row = try Row.fetchOne(db, sql: "SELECT spec FROM functions WHERE name = ?", arguments: [name]) else {
                return nil
            }
            try db.execute(sql: "DELETE FROM functions WHERE name = ?", arguments: [name])
            try Self.collectBlobs(db)
            return try Self.decode(row["spec"])
        }
    }

    public func function(named name: String) async throws -> FunctionSpec? {
        try await pool.read { db in
            try Row.fetchOne(db, sql: "SELECT spec FROM functions WHERE name = ?", arguments: [name]).map { try Self.decode($0["spec"]) }
        }
    }

    public func allFunctions() async throws -> [FunctionSpec] {
        try await pool.read { db in
            try Row.fetchAll(db, sql: "SELECT spec FROM functions ORDER BY name").map { try Self.decode($0["spec"]) }
        }
    }

    public func code(digest: String) async throws -> Data? {
        try await pool.read { db in
            try Data.fetchOne(db, sql: "SELECT data FROM code_blobs WHERE digest = ?", arguments: [digest])
        }
    }

    private static func putBlob(_ db: Database, digest: String, data: Data) throws {
        try db.execute(
            sql: "INSERT OR IGNORE INTO code_blobs (digest, size, data) VALUES (?, ?, ?)",
            arguments: [digest, data.count, data]
        )
    }

    private static func collectBlobs(_ db: Database) throws {
        try db.execute(sql: "DELETE FROM code_blobs WHERE digest NOT IN (SELECT code_digest FROM functions)")
    }

    private static func encode(_ spec: FunctionSpec) throws -> String {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .secondsSince1970
        encoder.outputFormatting = .sortedKeys
        return String(decoding: try encoder.encode(spec), as: UTF8.self)
    }

    static func decode(_ json: String) throws -> FunctionSpec {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .secondsSince1970
        return try decoder.decode(FunctionSpec.self, from: Data(json.utf8))
    }
}
