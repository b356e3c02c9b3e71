import Foundation
import GRDB
import SwiftletCore

/// The `async_calls` table: its schema and the mapping between rows and ``AsyncCall``.
///
/// `next_attempt_at` is when a queued call is due, and for a running call when its lease ends,
/// so one index finds both new work and work whose worker died. `callback_next_at` does the same
/// for pending callbacks.
enum AsyncCallRow {
    static let schema = """
        CREATE TABLE async_calls (
            seq INTEGER PRIMARY KEY AUTOINCREMENT,
            id TEXT NOT NULL UNIQUE,
            function TEXT NOT NULL,
            method TEXT NOT NULL,
            path TEXT NOT NULL,
            headers TEXT NOT NULL,
            body BLOB NOT NULL,
            callback_url TEXT,
            status TEXT NOT NULL,
            attempts INTEGER NOT NULL,
            max_attempts INTEGER NOT NULL,
            created_at REAL NOT NULL,
            updated_at REAL NOT NULL,
            next_attempt_at REAL NOT NULL,
            started_at REAL,
            finished_at REAL,
            lease_token TEXT,
            last_error TEXT,
            result_status INTEGER,
            result_headers TEXT,
            result_body BLOB,
            result_duration REAL,
            callback_status TEXT NOT NULL,
            callback_attempts INTEGER NOT NULL,
            callback_next_at REAL,
            callback_lease_token TEXT,
            callback_last_error TEXT,
            callback_delivered_at REAL
        );
        CREATE INDEX async_calls_due ON async_calls(status, next_attempt_at);
        CREATE INDEX async_calls_function ON async_calls(function, status, next_attempt_at);
        CREATE INDEX async_calls_callbacks ON async_calls(callback_status, callback_next_at);
        CREATE INDEX async_calls_finished ON async_calls(finished_at);
        """

    /// Every column but the bodies, for lists.
    static let summaryColumns = """
        id, function, method, path, '[]' AS headers, length(body) AS body_size, callback_url, status, attempts, max_attempts,
        created_at, updated_at, next_attempt_at, started_at, finished_at, last_error, result_status, result_headers,
        length(result_body) AS result_size, result_duration, callback_status, callback_attempts, callback_last_error, callback_delivered_at
        """

    /// Every column.
    static let allColumns = """
        id, function, method, path, headers, body, length(body) AS body_size, callback_url, status, attempts, max_attempts,
        created_at, updated_at, next_attempt_at, started_at, finished_at, last_error, result_status, result_headers,
        result_body, length(result_body) AS result_size, result_duration, callback_status, callback_attempts,
        callback_last_error, callback_delivered_at
        """

    static func encodeHeaders(_ headers: [HeaderField]) throws -> String {
        String(decoding: try JSONEncoder().encode(headers), as: UTF8.self)
    }

    static func decodeHeaders(_ json: String?) throws -> [HeaderField] {
        guard let json, !json.isEmpty else { return [] }
        return try JSONDecoder().decode([HeaderField].self, from: Data(json.utf8))
    }

    /// The call in `row`; from a summary row (no `body` column) the bodies are empty and only
    /// their sizes are set.
    static func decode(_ row: Row) throws -> AsyncCall {
        let date = { (column: String) -> Date? in (row[column] as Double?).map(Date.init(timeIntervalSince1970:)) }
        let hasBodies = row.hasColumn("body")
        var result: AsyncResult?
        if let status = row["result_status"] as Int? {
            result = AsyncResult(
                status: status, headers: try decodeHeaders(row["result_headers"]),
                body: hasBodies ? (row["result_body"] as Data? ?? Data()) : Data(), bodyBytes: row["result_size"] ?? 0,
                durationSeconds: row["result_duration"] ?? 0
            )
        }
        return AsyncCall(
            id: row["id"], function: row["function"],
            request: AsyncRequest(
                method: row["method"], path: row["path"], headers: try decodeHeaders(row["headers"]),
                body: hasBodies ? (row["body"] as Data? ?? Data()) : Data(), bodyBytes: row["body_size"] ?? 0
            ),
            callbackURL: row["callback_url"],
            status: AsyncCallStatus(rawValue: row["status"]) ?? .queued,
            attempts: row["attempts"], maxAttempts: row["max_attempts"],
            createdAt: date("created_at") ?? Date(timeIntervalSince1970: 0), updatedAt: date("updated_at"),
            nextAttemptAt: date("next_attempt_at"), startedAt: date("started_at"), finishedAt: date("finished_at"),
            lastError: row["last_error"], result: result,
            callback: CallbackState(
                status: CallbackState.Status(rawValue: row["callback_status"]) ?? .none, attempts: row["callback_attempts"],
                lastError: row["callback_last_error"], deliveredAt: date("callback_delivered_at")
            )
        )
    }
}
