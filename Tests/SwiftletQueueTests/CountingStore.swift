import Foundation
import SwiftletCore
import SwiftletStore
import Synchronization

/// An ``AsyncCallStore`` over a ``MemoryStore`` that counts how often the workers look for work.
final class CountingStore: AsyncCallStore {
    let base: MemoryStore
    private let counts = Mutex<[String: Int]>([:])

    init(_ base: MemoryStore) { self.base = base }

    private func count(_ name: String) { counts.withLock { $0[name, default: 0] += 1 } }

    /// How often `name` was called.
    func calls(to name: String) -> Int { counts.withLock { $0[name, default: 0] } }
    /// Forgets the counts so far.
    func reset() { counts.withLock { $0 = [:] } }

    func enqueue(_ call: AsyncCall) async throws { try await base.enqueue(call) }
    func functionsWithDueCalls(now: Date) async throws -> Set<String> {
        count("functionsWithDueCalls")
        return await base.functionsWithDueCalls(now: now)
    }
    func nextDueDate() async throws -> Date? {
        count("nextDueDate")
        return await base.nextDueDate()
    }
    func leaseCalls(function: String, limit: Int, now: Date, leaseUntil: Date, token: String) async throws -> [AsyncCall] {
        count("leaseCalls")
        return await base.leaseCalls(function: function, limit: limit, now: now, leaseUntil: leaseUntil, token: token)
    }
    func renewLeases(token: String, ids: [String], until: Date) async throws {
        await base.renewLeases(token: token, ids: ids, until: until)
    }
    func finishCall(id: String, token: String, attempt: Int, outcome: AsyncOutcome, now: Date) async throws -> Bool {
        await base.finishCall(id: id, token: token, attempt: attempt, outcome: outcome, now: now)
    }
    func releaseCalls(ids: [String], token: String, now: Date) async throws { await base.releaseCalls(ids: ids, token: token, now: now) }
    func leaseCallbacks(limit: Int, now: Date, leaseUntil: Date, token: String) async throws -> [AsyncCall] {
        count("leaseCallbacks")
        return await base.leaseCallbacks(limit: limit, now: now, leaseUntil: leaseUntil, token: token)
    }
    func nextCallbackDate() async throws -> Date? {
        count("nextCallbackDate")
        return await base.nextCallbackDate()
    }
    func finishCallback(id: String, token: String, attempt: Int, outcome: CallbackOutcome, now: Date) async throws {
        await base.finishCallback(id: id, token: token, attempt: attempt, outcome: outcome, now: now)
    }
    func call(id: String) async throws -> AsyncCall? { await base.call(id: id) }
    func calls(matching filter: AsyncCallFilter) async throws -> [AsyncCall] { await base.calls(matching: filter) }
    func callCounts(function: String?) async throws -> [AsyncCallStatus: Int] { await base.callCounts(function: function) }
    func requeueCall(id: String, now: Date) async throws -> AsyncCall { try await base.requeueCall(id: id, now: now) }
    func purgeCalls(finishedBefore cutoff: Date) async throws -> Int { await base.purgeCalls(finishedBefore: cutoff) }
}
