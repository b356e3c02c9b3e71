import Foundation
import SwiftletCore

/// The durable queue of async calls: what `/async-function` accepted, where each call stands,
/// its result and its callback's delivery.
///
/// One real implementation (``SQLiteStore``) and one in memory (``MemoryStore``) for unit tests.
/// Workers *lease* calls: a leased call is `running` and due again when its lease ends, so a
/// call whose worker died (a crash, `kill -9`) runs again (at-least-once). A lease is held by a
/// `token` (one per worker process) and an attempt number; finishing or renewing with a stale
/// lease changes nothing.
public protocol AsyncCallStore: Sendable {
    /// Stores a new queued call; it is durable when this returns. Throws `.conflict` when the id is taken.
    func enqueue(_ call: AsyncCall) async throws
    /// The functions that have calls due at `now`: queued and due, or running with an ended lease.
    func functionsWithDueCalls(now: Date) async throws -> Set<String>
    /// When the next queued call or running lease falls due, if any call waits at all.
    func nextDueDate() async throws -> Date?
    /// Leases up to `limit` due calls of `function`, oldest due first: each becomes `running`,
    /// counts an attempt and is held under `token` until `leaseUntil`. A call whose lease ended
    /// during its last allowed attempt becomes `dead` instead.
    func leaseCalls(function: String, limit: Int, now: Date, leaseUntil: Date, token: String) async throws -> [AsyncCall]
    /// Extends every lease held under `token` on the calls `ids` to `until`.
    func renewLeases(token: String, ids: [String], until: Date) async throws
    /// Records how attempt `attempt` of call `id` ended; false (and no change) when the lease is
    /// no longer held. A final outcome with a callback URL makes the callback pending.
    @discardableResult
    func finishCall(id: String, token: String, attempt: Int, outcome: AsyncOutcome, now: Date) async throws -> Bool
    /// Puts leased calls back in the queue without counting the attempt (graceful shutdown).
    func releaseCalls(ids: [String], token: String, now: Date) async throws
    /// Leases up to `limit` due callbacks: each counts a delivery attempt and is held under
    /// `token` until `leaseUntil`.
    func leaseCallbacks(limit: Int, now: Date, leaseUntil: Date, token: String) async throws -> [AsyncCall]
    /// When the next pending callback falls due, if any.
    func nextCallbackDate() async throws -> Date?
    /// Records how delivery attempt `attempt` of call `id`'s callback ended.
    func finishCallback(id: String, token: String, attempt: Int, outcome: CallbackOutcome, now: Date) async throws
    /// The call `id`, if stored.
    func call(id: String) async throws -> AsyncCall?
    /// The calls matching `filter`, newest first, without request or answer bodies.
    func calls(matching filter: AsyncCallFilter) async throws -> [AsyncCall]
    /// How many calls are in each status, for one function or all.
    func callCounts(function: String?) async throws -> [AsyncCallStatus: Int]
    /// Re-queues a `dead` or `failed` call with fresh attempts; `.notFound`, or `.conflict` in
    /// any other status.
    func requeueCall(id: String, now: Date) async throws -> AsyncCall
    /// Removes final calls that finished before `cutoff` and whose callback is settled.
    @discardableResult
    func purgeCalls(finishedBefore cutoff: Date) async throws -> Int
}

extension SwiftletError {
    /// A call id that is already in the queue.
    static func callExists(_ id: String) -> SwiftletError {
        SwiftletError(.conflict, "call '\(id.prefix(128))' already exists; see GET /system/async/\(id.prefix(128)), or send a new X-Call-Id")
    }

    /// A call id that is not in the queue.
    static func callNotFound(_ id: String) -> SwiftletError {
        SwiftletError(.notFound, "call '\(id.prefix(128))' not found; it may have been purged after its retention time")
    }

    /// A retry of a call that is not dead or failed.
    static func callNotRetryable(_ id: String, _ status: AsyncCallStatus) -> SwiftletError {
        SwiftletError(.conflict, "call '\(id.prefix(128))' is \(status.rawValue); only dead or failed calls can be retried")
    }
}
