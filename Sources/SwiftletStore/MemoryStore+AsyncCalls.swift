import Foundation
import SwiftletCore

/// An async call in ``MemoryStore``, with what SQLite keeps in extra columns.
struct MemoryAsyncCall {
    var call: AsyncCall
    var sequence: Int
    var leaseToken: String?
    var callbackDue: Date?
    var callbackToken: String?
}

extension MemoryStore {
    public func enqueue(_ call: AsyncCall) throws {
        guard asyncCalls[call.id] == nil else { throw SwiftletError.callExists(call.id) }
        var stored = call
        stored.status = .queued
        stored.attempts = 0
        nextSequence += 1
        asyncCalls[call.id] = MemoryAsyncCall(call: stored, sequence: nextSequence)
    }

    private func isDue(_ entry: MemoryAsyncCall, _ now: Date) -> Bool {
        (entry.call.status == .queued || entry.call.status == .running) && entry.call.nextAttemptAt <= now
    }

    public func functionsWithDueCalls(now: Date) -> Set<String> {
        Set(asyncCalls.values.filter { isDue($0, now) }.map(\.call.function))
    }

    public func nextDueDate() -> Date? {
        asyncCalls.values.filter { $0.call.status == .queued || $0.call.status == .running }.map(\.call.nextAttemptAt).min()
    }

    public func leaseCalls(function: String, limit: Int, now: Date, leaseUntil: Date, token: String) -> [AsyncCall] {
        guard limit > 0 else { return [] }
        for (id, entry) in asyncCalls
        where entry.call.function == function && entry.call.status == .running && entry.call.nextAttemptAt <= now
            && entry.call.attempts >= entry.call.maxAttempts
        {
            var entry = entry
            entry.call.status = .dead
            entry.call.finishedAt = now
            entry.call.updatedAt = now
            entry.call.lastError = "the platform stopped during the last allowed attempt (\(entry.call.attempts) of \(entry.call.maxAttempts))"
            entry.leaseToken = nil
            markCallbackPending(&entry, now)
            asyncCalls[id] = entry
        }
        let due = asyncCalls.values.filter { $0.call.function == function && isDue($0, now) }
            .sorted { ($0.call.nextAttemptAt, $0.sequence) < ($1.call.nextAttemptAt, $1.sequence) }
            .prefix(limit)
        return due.map { entry in
            var entry = entry
            entry.call.status = .running
            entry.call.attempts += 1
            entry.call.nextAttemptAt = leaseUntil
            entry.call.startedAt = now
            entry.call.updatedAt = now
            entry.leaseToken = token
            asyncCalls[entry.call.id] = entry
            return entry.call
        }
    }

    private func markCallbackPending(_ entry: inout MemoryAsyncCall, _ now: Date) {
        guard entry.call.callbackURL != nil else { return }
        entry.call.callback.status = .pending
        entry.callbackDue = now
    }

    public func renewLeases(token: String, ids: [String], until: Date) {
        for id in ids where asyncCalls[id]?.call.status == .running && asyncCalls[id]?.leaseToken == token {
            asyncCalls[id]?.call.nextAttemptAt = until
        }
    }

    public func finishCall(id: String, token: String, attempt: Int, outcome: AsyncOutcome, now: Date) -> Bool {
        guard var entry = asyncCalls[id], entry.call.status == .running, entry.leaseToken == token, entry.call.attempts == attempt else {
            return false
        }
        switch outcome {
        case .succeeded(let result): (entry.call.status, entry.call.result, entry.call.lastError) = (.succeeded, result, nil)
        case .failed(let result, let error): (entry.call.status, entry.call.result, entry.call.lastError) = (.failed, result, error)
        case .retry(let at, let error, let result):
            (entry.call.status, entry.call.result, entry.call.lastError, entry.call.nextAttemptAt) = (.queued, result, error, at)
        case .dead(let result, let error): (entry.call.status, entry.call.result, entry.call.lastError) = (.dead, result, error)
        }
        entry.call.updatedAt = now
        entry.leaseToken = nil
        if entry.call.status.isFinal {
            entry.call.finishedAt = now
            markCallbackPending(&entry, now)
        }
        asyncCalls[id] = entry
        return true
    }

    public func releaseCalls(ids: [String], token: String, now: Date) {
        for id in ids {
            guard var entry = asyncCalls[id], entry.call.status == .running, entry.leaseToken == token else { continue }
            entry.call.status = .queued
            entry.call.attempts = max(entry.call.attempts - 1, 0)
            entry.call.nextAttemptAt = now
            entry.call.updatedAt = now
            entry.leaseToken = nil
            asyncCalls[id] = entry
        }
    }

    public func leaseCallbacks(limit: Int, now: Date, leaseUntil: Date, token: String) -> [AsyncCall] {
        let due = asyncCalls.values.filter { $0.call.callback.status == .pending && ($0.callbackDue ?? .distantFuture) <= now }
            .sorted { ($0.callbackDue!, $0.sequence) < ($1.callbackDue!, $1.sequence) }
            .prefix(max(0, limit))
        return due.map { entry in
            var entry = entry
            entry.call.callback.attempts += 1
            entry.callbackDue = leaseUntil
            entry.callbackToken = token
            asyncCalls[entry.call.id] = entry
            return entry.call
        }
    }

    public func nextCallbackDate() -> Date? {
        asyncCalls.values.filter { $0.call.callback.status == .pending }.compactMap(\.callbackDue).min()
    }

    public func finishCallback(id: String, token: String, attempt: Int, outcome: CallbackOutcome, now: Date) {
        guard var entry = asyncCalls[id], entry.call.callback.status == .pending, entry.callbackToken == token,
            entry.call.callback.attempts == attempt
        else { return }
        switch outcome {
        case .delivered:
            (entry.call.callback.status, entry.call.callback.deliveredAt, entry.call.callback.lastError, entry.callbackDue) = (.delivered, now, nil, nil)
        case .retry(let at, let error):
            (entry.call.callback.lastError, entry.callbackDue) = (error, at)
        case .failed(let error):
            (entry.call.callback.status, entry.call.callback.lastError, entry.callbackDue) = (.failed, error, nil)
        }
        entry.callbackToken = nil
        entry.call.updatedAt = now
        asyncCalls[id] = entry
    }

    public func call(id: String) -> AsyncCall? { asyncCalls[id]?.call }

    public func calls(matching filter: AsyncCallFilter) -> [AsyncCall] {
        asyncCalls.values
            .filter { entry in filter.function.map { entry.call.function == $0 } ?? true }
            .filter { entry in filter.status.map { entry.call.status == $0 } ?? true }
            .sorted { $0.sequence > $1.sequence }
            .prefix(max(0, filter.limit))
            .map { entry in
                // As SQLite's lists: sizes, no bodies or request headers.
                var call = entry.call
                call.request.body = Data()
                call.request.headers = []
                call.result?.body = Data()
                return call
            }
    }

    public func callCounts(function: String?) -> [AsyncCallStatus: Int] {
        var counts: [AsyncCallStatus: Int] = [:]
        for entry in asyncCalls.values where function.map({ entry.call.function == $0 }) ?? true {
            counts[entry.call.status, default: 0] += 1
        }
        return counts
    }

    public func requeueCall(id: String, now: Date) throws -> AsyncCall {
        guard var entry = asyncCalls[id] else { throw SwiftletError.callNotFound(id) }
        guard entry.call.status == .dead || entry.call.status == .failed else {
            throw SwiftletError.callNotRetryable(id, entry.call.status)
        }
        entry.call.status = .queued
        entry.call.attempts = 0
        entry.call.nextAttemptAt = now
        entry.call.updatedAt = now
        entry.call.finishedAt = nil
        entry.call.callback = CallbackState()
        entry.callbackDue = nil
        entry.callbackToken = nil
        asyncCalls[id] = entry
        return entry.call
    }

    public func purgeCalls(finishedBefore cutoff: Date) -> Int {
        let old = asyncCalls.values.filter {
            $0.call.status.isFinal && ($0.call.finishedAt ?? .distantFuture) < cutoff && $0.call.callback.status != .pending
        }
        for entry in old { asyncCalls[entry.call.id] = nil }
        return old.count
    }
}
