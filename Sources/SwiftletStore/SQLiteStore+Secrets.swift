import Crypto
import Foundation
import GRDB
import SwiftletCore
import Synchronization

extension SQLiteStore {
    public func insertSecret(name: String, namespace: String, value: Data) async throws {
        let sealed = try await cipher(creatingKey: true).seal(value, name: name)
        let now = Date().timeIntervalSince1970
        do {
            try await pool.write { db in
                try db.execute(
                    sql: "INSERT INTO secrets (name, namespace, sealed, created_at, updated_at) VALUES (?, ?, ?, ?, ?)",
                    arguments: [name, namespace, sealed, now, now]
                )
            }
        } catch let error as DatabaseError where error.extendedResultCode == .SQLITE_CONSTRAINT_PRIMARYKEY {
            throw SwiftletError(.conflict, "secret '\(name)' already exists; change its value with `swiftlet secret update \(name)` or remove it first")
        }
        logger.debug("stored secret", metadata: ["swiftlet.secret": "\(name)"])
    }

    public func updateSecret(name: String, namespace: String, value: Data) async throws {
        let sealed = try await cipher(creatingKey: true).seal(value, name: name)
        let now = Date().timeIntervalSince1970
        let changed = try await pool.write { db in
            try db.execute(
                sql: "UPDATE secrets SET namespace = ?, sealed = ?, updated_at = ? WHERE name = ?",
                arguments: [namespace, sealed, now, name]
            )
            return db.changesCount > 0
        }
        guard changed else {
            throw SwiftletError(.notFound, "secret '\(name)' not found; create it with `swiftlet secret create \(name)`")
        }
        logger.debug("updated secret", metadata: ["swiftlet.secret": "\(name)"])
    }

    public func deleteSecret(named name: String) async throws -> Bool {
        // One write transaction: no function naming the secret can be stored between the check
        // and the delete (inserts and updates check their secrets in their own transactions).
        let deleted = try await pool.write { db -> Bool in
            guard try Bool.fetchOne(db, sql: "SELECT 1 FROM secrets WHERE name = ?", arguments: [name]) != nil else {
                return false
            }
            let users = try Row.fetchAll(db, sql: "SELECT spec FROM functions ORDER BY name")
                .map { try Self.decode($0["spec"]) }
                .filter { $0.secrets.contains(name) }
                .map(\.name)
            guard users.isEmpty else {
                throw SwiftletError.secretInUse(name, by: users)
            }
            try db.execute(sql: "DELETE FROM secrets WHERE name = ?", arguments: [name])
            return true
        }
        if deleted { logger.debug("removed secret", metadata: ["swiftlet.secret": "\(name)"]) }
        return deleted
    }

    public func secretNames() async throws -> [SecretInfo] {
        try await pool.read { db in
            try Row.fetchAll(db, sql: "SELECT name, namespace FROM secrets ORDER BY name").map {
                SecretInfo(name: $0["name"], namespace: $0["namespace"])
            }
        }
    }

    public func secretValues(_ names: [String]) async throws -> [String: Data] {
        guard !names.isEmpty else { return [:] }
        let rows = try await pool.read { db in
            var sealed: [String: Data] = [:]
            for name in Set(names) {
                if let data = try Data.fetchOne(db, sql: "SELECT sealed FROM secrets WHERE name = ?", arguments: [name]) {
                    sealed[name] = data
                }
            }
            return sealed
        }
        var seen: Set<String> = []
        let missing = names.filter { rows[$0] == nil && seen.insert($0).inserted }
        guard missing.isEmpty else {
            throw SwiftletError.missingSecrets(missing)
        }
        let cipher = try await cipher(creatingKey: false)
        return try rows.reduce(into: [:]) { values, row in
            values[row.key] = try cipher.open(row.value, name: row.key, keyPath: keyFile.path)
        }
    }

    /// Throws `.invalidInput` naming the secrets in `names` that are not stored, inside a write
    /// transaction of a function insert or update.
    static func requireSecrets(_ db: Database, _ names: [String]) throws {
        var missing: [String] = []
        for name in names where try Bool.fetchOne(db, sql: "SELECT 1 FROM secrets WHERE name = ?", arguments: [name]) == nil {
            missing.append(name)
        }
        guard missing.isEmpty else {
            throw SwiftletError.missingSecrets(missing, code: .invalidInput)
        }
    }

    /// The cipher over the key file's key, read once. With `creatingKey`, a missing file is
    /// created, but only while no secret is stored (one sealed with a lost key stays unreadable).
    /// Creation happens inside a write transaction, so it is ordered with every insert: a writer
    /// that sees stored secrets also sees the key they were sealed with.
    private func cipher(creatingKey: Bool) async throws -> SecretCipher {
        if let key = cachedKey.withLock({ $0 }) { return SecretCipher(key: key) }
        let keyFile = self.keyFile
        let key: SymmetricKey
        if let existing = try keyFile.load() {
            key = existing
        } else {
            key = try await pool.write { db in
                if let existing = try keyFile.load() { return existing }
                let stored = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM secrets") ?? 0
                guard creatingKey, stored == 0 else {
                    throw SwiftletError(
                        .internal,
                        "the secrets key file \(keyFile.path) is missing while \(stored) secrets are stored; restore it from a backup, "
                            + "or remove every secret (`swiftlet secret remove NAME`) to start over"
                    )
                }
                return try keyFile.create()
            }
        }
        cachedKey.withLock { $0 = key }
        return SecretCipher(key: key)
    }
}
