import Foundation
import GRDB
import SwiftletCore

extension SQLiteStore: TokenStore {
    static let tokensSchema = """
        CREATE TABLE api_tokens (
            id TEXT PRIMARY KEY NOT NULL,
            name TEXT NOT NULL UNIQUE,
            secret_hash BLOB NOT NULL,
            scopes TEXT NOT NULL,
            created_at REAL NOT NULL,
            last_used_at REAL
        );
        """

    public func insertToken(_ token: APIToken, secretHash: Data) async throws {
        let scopes = String(decoding: try JSONEncoder().encode(token.scopes), as: UTF8.self)
        do {
            try await pool.write { db in
                try db.execute(
                    sql: "INSERT INTO api_tokens (id, name, secret_hash, scopes, created_at, last_used_at) VALUES (?, ?, ?, ?, ?, NULL)",
                    arguments: [token.id, token.name, secretHash, scopes, token.createdAt.timeIntervalSince1970]
                )
            }
        } catch let error as DatabaseError where error.resultCode == .SQLITE_CONSTRAINT {
            throw SwiftletError(.conflict, "a token named '\(token.name)' already exists; revoke it first or choose another name")
        }
    }

    public func token(id: String) async throws -> (token: APIToken, secretHash: Data)? {
        try await pool.read { db in
            guard let row = try Row.fetchOne(db, sql: "SELECT * FROM api_tokens WHERE id = ?", arguments: [id]) else { return nil }
            return (try Self.token(row), row["secret_hash"])
        }
    }

    public func allTokens() async throws -> [APIToken] {
        try await pool.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM api_tokens ORDER BY created_at, name").map(Self.token)
        }
    }

    public func deleteToken(_ idOrName: String) async throws -> Bool {
        try await pool.write { db in
            try db.execute(sql: "DELETE FROM api_tokens WHERE id = ?", arguments: [idOrName])
            if db.changesCount > 0 { return true }
            try db.execute(sql: "DELETE FROM api_tokens WHERE name = ?", arguments: [idOrName])
            return db.changesCount > 0
        }
    }

    public func touchToken(id: String, at date: Date) async throws {
        try await pool.write { db in
            try db.execute(sql: "UPDATE api_tokens SET last_used_at = ? WHERE id = ?", arguments: [date.timeIntervalSince1970, id])
        }
    }

    private static func token(_ row: Row) throws -> APIToken {
        let scopesText: String = row["scopes"]
        let lastUsed: Double? = row["last_used_at"]
        return APIToken(
            id: row["id"], name: row["name"], scopes: try JSONDecoder().decode([TokenScope].self, from: Data(scopesText.utf8)),
            createdAt: Date(timeIntervalSince1970: row["created_at"]), lastUsedAt: lastUsed.map { Date(timeIntervalSince1970: $0) }
        )
    }
}
