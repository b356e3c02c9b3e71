import Foundation
import GRDB
import SwiftletCore

extension SQLiteStore {
    public func enqueue(_ call: AsyncCall) async throws {
        let headers = try AsyncCallRow.encodeHeaders(call.request.headers)
        do {
            try await pool.write { db in
                try db.cachedStatement(
                    sql: """
                        INSERT INTO async_calls (id, function, method, path, headers, body, callback_url, status, attempts, max_attempts,
                            created_at, updated_at, next_attempt_at, callback_status, callback_attempts)
                        VALUES (?, ?, ?, ?, ?, ?, ?, 'queued', 0, ?, ?, ?, ?, 'none', 0)
                        """
                ).execute(arguments: [
                        call.id, call.function, call.request.method, call.request.path, headers, call.request.body, call.callbackURL,
                        call.maxAttempts, call.createdAt.timeIntervalSince1970, call.createdAt.timeIntervalSince1970,
                        call.nextAttemptAt.timeIntervalSince1970,
                    ])
            }
        } catch let error as DatabaseError where error.resultCode == .SQLITE_CONSTRAINT {
            throw SwiftletError.callExists(call.id)
        }
    }

    public func functionsWithDueCalls(now: Date) async throws -> Set<String> {
        try await pool.read { db in
            Set(
                // Walks the distinct functions through the (function, …) index and probes each,
                // instead of scanning every queued row: ~50x faster with thousands queued.
                try String.fetchAll(
                    db,
                    sql: """
                        WITH RECURSIVE f(name) AS (
                            SELECT MIN(function) FROM async_calls
                            UNION ALL
                            SELECT (SELECT MIN(function) FROM async_calls WHERE function > f.name) FROM f WHERE f.name IS NOT NULL
                        )
                        SELECT name FROM f WHERE name IS NOT NULL AND EXISTS (
                            SELECT 1 FROM async_calls
                            WHERE function = f.name AND status IN ('queued', 'running') AND next_attempt_at <= ?
                        )
                        """,
                    arguments: [now.timeIntervalSince1970]
                )
            )
        }
    }

    public func nextDueDate() async throws -> Date? {
        try await pool.read { db in
            try Double.fetchOne(db, sql: "SELECT MIN(next_attempt_at) FROM async_calls WHERE status IN ('queued', 'running')")
                .map(Date.init(timeIntervalSince1970:))
        }
    }

    public func leaseCalls(function: String, limit: Int, now: Date, leaseUntil: Date, token: String) async throws -> [AsyncCall] {
        guard limit > 0 else { return [] }
        let t = now.timeIntervalSince1970
        return try await pool.write { db in
            // A call whose worker died during its last allowed attempt is dead, not run again.
            try db.cachedStatement(
                sql: """
                    UPDATE async_calls SET status = 'dead', finished_at = ?, updated_at = ?, lease_token = NULL,
                        last_error = 'the platform stopped during the last allowed attempt (' || attempts || ' of ' || max_attempts || ')',
                        callback_status = CASE WHEN callback_url IS NULL THEN 'none' ELSE 'pending' END, callback_next_at = ?
                    WHERE function = ? AND status = 'running' AND next_attempt_at <= ? AND attempts >= max_attempts
                    """
            ).execute(arguments: [t, t, t, function, t])
            let ids = try String.fetchAll(
                db,
                sql: """
                    SELECT id FROM async_calls WHERE function = ? AND status IN ('queued', 'running') AND next_attempt_at <= ?
                    ORDER BY next_attempt_at, seq LIMIT ?
                    """,
                arguments: [function, t, limit]
            )
            guard !ids.isEmpty else { return [] }
            var calls: [AsyncCall] = []
            for id in ids {
                try db.cachedStatement(
                    sql: """
                        UPDATE async_calls SET status = 'running', attempts = attempts + 1, lease_token = ?, next_attempt_at = ?,
                            started_at = ?, updated_at = ? WHERE id = ?
                        """
                ).execute(arguments: [token, leaseUntil.timeIntervalSince1970, t, t, id])
                if let row = try Row.fetchOne(try db.cachedStatement(sql: "SELECT \(AsyncCallRow.allColumns) FROM async_calls WHERE id = ?"), arguments: [id]) {
                    calls.append(try AsyncCallRow.decode(row))
                }
            }
            return calls
        }
    }

    public func renewLeases(token: String, ids: [String], until: Date) async throws {
        guard !ids.isEmpty else { return }
        try await pool.write { db in
            for chunk in stride(from: 0, to: ids.count, by: 500).map({ ids[$0..<min($0 + 500, ids.count)] }) {
                try db.execute(
                    sql: """
                        UPDATE async_calls SET next_attempt_at = ? WHERE status = 'running' AND lease_token = ?
                        AND id IN (\(databaseQuestionMarks(count: chunk.count)))
                        """,
                    arguments: StatementArguments([until.timeIntervalSince1970, token] as [any DatabaseValueConvertible]) + StatementArguments(Array(chunk))
                )
            }
        }
    }

    public func finishCall(id: String, token: String, attempt: Int, outcome: AsyncOutcome, now: Date) async throws -> Bool {
        let t = now.timeIntervalSince1970
        let status: AsyncCallStatus
        let result: AsyncResult?
        let error: String?
        var next = t
        switch outcome {
        case .succeeded(let answer): (status, result, error) = (.succeeded, answer, nil)
        case .failed(let answer, let message): (status, result, error) = (.failed, answer, message)
        case .retry(let at, let message, let answer): (status, result, error, next) = (.queued, answer, message, at.timeIntervalSince1970)
        case .dead(let answer, let message): (status, result, error) = (.dead, answer, message)
        }
        let headers = try result.map { try AsyncCallRow.encodeHeaders($0.headers) }
        let due = next
        return try await pool.write { db in
            try db.execute(
                sql: """
                    UPDATE async_calls SET status = ?, next_attempt_at = ?, updated_at = ?, lease_token = NULL, last_error = ?,
                        finished_at = CASE WHEN ? THEN ? ELSE NULL END,
                        result_status = ?, result_headers = ?, result_body = ?, result_duration = ?,
                        callback_status = CASE WHEN ? AND callback_url IS NOT NULL THEN 'pending' ELSE callback_status END,
                        callback_next_at = CASE WHEN ? AND callback_url IS NOT NULL THEN ? ELSE callback_next_at END
                    WHERE id = ? AND status = 'running' AND lease_token = ? AND attempts = ?
                    """,
                arguments: [
                    status.rawValue, due, t, error, status.isFinal, t,
                    result?.status, headers, result?.body, result?.durationSeconds,
                    status.isFinal, status.isFinal, t,
                    id, token, attempt,
                ]
            )
            return db.changesCount > 0
        }
    }

    public func releaseCalls(ids: [String], token: String, now: Date) async throws {
        try await pool.write { db in
            for id in ids {
                try db.cachedStatement(
                    sql: """
                        UPDATE async_calls SET status = 'queued', attempts = MAX(attempts - 1, 0), lease_token = NULL, next_attempt_at = ?,
                            updated_at = ? WHERE id = ? AND status = 'running' AND lease_token = ?
                        """
                ).execute(arguments: [now.timeIntervalSince1970, now.timeIntervalSince1970, id, token])
            }
        }
    }

    public func leaseCallbacks(limit: Int, now: Date, leaseUntil: Date, token: String) async throws -> [AsyncCall] {
        guard limit > 0 else { return [] }
        let t = now.timeIntervalSince1970
        return try await pool.write { db in
            let ids = try String.fetchAll(
                db, sql: "SELECT id FROM async_calls WHERE callback_status = 'pending' AND callback_next_at <= ? ORDER BY callback_next_at LIMIT ?",
                arguments: [t, limit]
            )
            var calls: [AsyncCall] = []
            for id in ids {
                try db.cachedStatement(
                    sql: """
                        UPDATE async_calls SET callback_attempts = callback_attempts + 1, callback_lease_token = ?, callback_next_at = ?
                        WHERE id = ?
                        """
                ).execute(arguments: [token, leaseUntil.timeIntervalSince1970, id])
                if let row = try Row.fetchOne(try db.cachedStatement(sql: "SELECT \(AsyncCallRow.allColumns) FROM async_calls WHERE id = ?"), arguments: [id]) {
                    calls.append(try AsyncCallRow.decode(row))
                }
            }
            return calls
        }
    }

    public func nextCallbackDate() async throws -> Date? {
        try await pool.read { db in
            try Double.fetchOne(db, sql: "SELECT MIN(callback_next_at) FROM async_calls WHERE callback_status = 'pending'")
                .map(Date.init(timeIntervalSince1970:))
        }
    }

    public func finishCallback(id: String, token: String, attempt: Int, outcome: CallbackOutcome, now: Date) async throws {
        let t = now.timeIntervalSince1970
        let (status, next, error, delivered): (CallbackState.Status, Double?, String?, Double?) =
            switch outcome {
            case .delivered: (.delivered, nil, nil, t)
            case .retry(let at, let message): (.pending, at.timeIntervalSince1970, message, nil)
            case .failed(let message): (.failed, nil, message, nil)
            }
        try await pool.write { db in
            try db.cachedStatement(
                sql: """
                    UPDATE async_calls SET callback_status = ?, callback_next_at = ?, callback_last_error = ?, callback_delivered_at = ?,
                        callback_lease_token = NULL, updated_at = ?
                    WHERE id = ? AND callback_status = 'pending' AND callback_lease_token = ? AND callback_attempts = ?
                    """
            ).execute(arguments: [status.rawValue, next, error, delivered, t, id, token, attempt])
        }
    }

    public func call(id: String) async throws -> AsyncCall? {
        try await pool.read { db in
            try Row.fetchOne(try db.cachedStatement(sql: "SELECT \(AsyncCallRow.allColumns) FROM async_calls WHERE id = ?"), arguments: [id])
                .map(AsyncCallRow.decode)
        }
    }

    public func calls(matching filter: AsyncCallFilter) async throws -> [AsyncCall] {
        var conditions: [String] = []
        var arguments = StatementArguments()
        if let function = filter.function {
            conditions.append("function = ?")
            arguments += [function]
        }
        if let status = filter.status {
            conditions.append("status = ?")
            arguments += [status.rawValue]
        }
        arguments += [max(0, filter.limit)]
        let whereClause = conditions.isEmpty ? "" : "WHERE " + conditions.joined(separator: " AND ")
        let sql = "SELECT \(AsyncCallRow.summaryColumns) FROM async_calls \(whereClause) ORDER BY seq DESC LIMIT ?"
        return try await pool.read { [arguments] db in
            try Row.fetchAll(db, sql: sql, arguments: arguments).map(AsyncCallRow.decode)
        }
    }

    public func callCounts(function: String?) async throws -> [AsyncCallStatus: Int] {
        try await pool.read { db in
            let rows =
                if let function {
                    try Row.fetchAll(db, sql: "SELECT status, COUNT(*) AS n FROM async_calls WHERE function = ? GROUP BY status", arguments: [function])
                } else {
                    try Row.fetchAll(db, sql: "SELECT status, COUNT(*) AS n FROM async_calls GROUP BY status")
                }
            var counts: [AsyncCallStatus: Int] = [:]
            for row in rows {
                if let status = AsyncCallStatus(rawValue: row["status"]) { counts[status] = row["n"] }
            }
            return counts
        }
    }

    public func requeueCall(id: String, now: Date) async throws -> AsyncCall {
        let t = now.timeIntervalSince1970
        return try await pool.write { db in
            guard let status = try String.fetchOne(db, sql: "SELECT status FROM async_calls WHERE id = ?", arguments: [id]) else {
                throw SwiftletError.callNotFound(id)
            }
            let current = AsyncCallStatus(rawValue: status) ?? .queued
            guard current == .dead || current == .failed else {
                throw SwiftletError.callNotRetryable(id, current)
            }
            try db.cachedStatement(
                sql: """
                    UPDATE async_calls SET status = 'queued', attempts = 0, next_attempt_at = ?, updated_at = ?, finished_at = NULL,
                        lease_token = NULL, callback_status = 'none', callback_attempts = 0, callback_next_at = NULL,
                        callback_lease_token = NULL, callback_last_error = NULL, callback_delivered_at = NULL
                    WHERE id = ?
                    """
            ).execute(arguments: [t, t, id])
            guard let row = try Row.fetchOne(try db.cachedStatement(sql: "SELECT \(AsyncCallRow.allColumns) FROM async_calls WHERE id = ?"), arguments: [id]) else {
                throw SwiftletError.callNotFound(id)
            }
            return try AsyncCallRow.decode(row)
        }
    }

    public func purgeCalls(finishedBefore cutoff: Date) async throws -> Int {
        try await pool.write { db in
            try db.cachedStatement(
                sql: """
                    DELETE FROM async_calls WHERE status IN ('succeeded', 'failed', 'dead') AND finished_at < ?
                    AND callback_status != 'pending'
                    """
            ).execute(arguments: [cutoff.timeIntervalSince1970])
            return db.changesCount
        }
    }
}
