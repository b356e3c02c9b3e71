import Foundation
import Logging
import SwiftletCore
import SwiftletStore
import Testing

/// Runs `body` with a fresh async call store of `kind` (a real SQLite file in a temporary
/// directory, removed afterwards, for `.sqlite`).
func withAsyncStore<T>(_ kind: StoreKind, _ body: (any AsyncCallStore) async throws -> T) async throws -> T {
    try await withEveryStore(kind) { try await body($0) }
}

/// Runs `body` with a fresh store of `kind` that plays every store role.
func withEveryStore<T>(_ kind: StoreKind, _ body: (any AsyncCallStore & TokenStore) async throws -> T) async throws -> T {
    switch kind {
    case .memory:
        return try await body(MemoryStore())
    case .sqlite:
        return try await withTemporaryDirectory { dir throws in
            try await body(try SQLiteStore(path: dir + "/swiftlet.db", logger: Logger(label: "swiftlet.store.tests")))
        }
    }
}

/// `epoch` plus `seconds` (whole or binary fractions, so SQLite's REAL columns keep them exactly).
func at(_ seconds: Double) -> Date { epoch.addingTimeInterval(seconds) }

/// A queued call accepted at `at(created)` and due at `at(due ?? created)`.
func makeCall(
    _ id: String, function: String = "f", created: Double = 0, due: Double? = nil, maxAttempts: Int = 3, callbackURL: String? = nil,
    body: Data = Data("request body".utf8), headers: [HeaderField] = [HeaderField(name: "Content-Type", value: "text/plain")]
) -> AsyncCall {
    AsyncCall(
        id: id, function: function, request: AsyncRequest(method: "POST", path: "/run?x=1", headers: headers, body: body),
        callbackURL: callbackURL, maxAttempts: maxAttempts, createdAt: at(created), nextAttemptAt: at(due ?? created)
    )
}

/// A function answer.
func makeResult(_ status: Int = 200, body: Data = Data("answer".utf8)) -> AsyncResult {
    AsyncResult(
        status: status, headers: [HeaderField(name: "X-Answer", value: "1"), HeaderField(name: "X-Answer", value: "2")], body: body,
        durationSeconds: 0.25)
}

/// Leases call `id` (which must be the only due call of its function at `now`) and returns it.
@discardableResult
func lease(
    _ store: any AsyncCallStore, function: String = "f", now: Double, until: Double, token: String = "A",
    sourceLocation: SourceLocation = #_sourceLocation
) async throws -> AsyncCall {
    let leased = try await store.leaseCalls(function: function, limit: 1, now: at(now), leaseUntil: at(until), token: token)
    return try #require(leased.first, "nothing to lease", sourceLocation: sourceLocation)
}

/// The queue's contract, run against both stores.
@Suite("Async call store")
struct AsyncCallStoreTests {
    @Test(arguments: StoreKind.allCases)
    func enqueueStoresAQueuedCall(_ kind: StoreKind) async throws {
        try await withAsyncStore(kind) { store throws in
            var call = makeCall("c1", created: 1, due: 2, maxAttempts: 7, callbackURL: "http://example.com/cb")
            call.status = .running
            call.attempts = 4
            try await store.enqueue(call)
            let stored = try #require(try await store.call(id: "c1"))
            #expect(stored.status == .queued && stored.attempts == 0 && stored.maxAttempts == 7)
            #expect(stored.function == "f" && stored.callbackURL == "http://example.com/cb")
            #expect(stored.request == call.request)
            #expect(stored.createdAt == at(1) && stored.nextAttemptAt == at(2))
            #expect(stored.startedAt == nil && stored.finishedAt == nil && stored.result == nil && stored.lastError == nil)
            #expect(stored.callback == CallbackState())
            #expect(try await store.call(id: "nope") == nil)
            #expect(try await store.nextDueDate() == at(2))
            #expect(try await store.functionsWithDueCalls(now: at(1.5)).isEmpty)
            #expect(try await store.functionsWithDueCalls(now: at(2)) == ["f"])
        }
    }

    @Test(arguments: StoreKind.allCases)
    func duplicateIdIsAConflict(_ kind: StoreKind) async throws {
        try await withAsyncStore(kind) { store throws in
            try await store.enqueue(makeCall("c1", function: "f"))
            let code = await swiftletErrorCode { try await store.enqueue(makeCall("c1", function: "g", created: 5)) }
            #expect(code == .conflict)
            #expect(try await store.call(id: "c1")?.function == "f")
            #expect(try await store.callCounts(function: nil) == [.queued: 1])
        }
    }

    @Test(arguments: StoreKind.allCases)
    func leaseTakesOldestDueFirstWithinTheLimit(_ kind: StoreKind) async throws {
        try await withAsyncStore(kind) { store throws in
            try await store.enqueue(makeCall("late", created: 0, due: 5))
            try await store.enqueue(makeCall("early", created: 1, due: 3))
            try await store.enqueue(makeCall("tie-1", created: 2, due: 6))
            try await store.enqueue(makeCall("tie-2", created: 3, due: 6))
            try await store.enqueue(makeCall("future", created: 4, due: 100))
            try await store.enqueue(makeCall("other", function: "g", created: 0))
            #expect(try await store.functionsWithDueCalls(now: at(10)) == ["f", "g"])
            #expect(try await store.leaseCalls(function: "f", limit: 0, now: at(10), leaseUntil: at(40), token: "A").isEmpty)

            let first = try await store.leaseCalls(function: "f", limit: 2, now: at(10), leaseUntil: at(40), token: "A")
            #expect(first.map(\.id) == ["early", "late"])
            for call in first {
                #expect(call.status == .running && call.attempts == 1 && call.nextAttemptAt == at(40) && call.startedAt == at(10))
                #expect(call.request.body == Data("request body".utf8))
                #expect(try await store.call(id: call.id) == call)
            }
            let second = try await store.leaseCalls(function: "f", limit: 10, now: at(10), leaseUntil: at(40), token: "A")
            #expect(second.map(\.id) == ["tie-1", "tie-2"])
            #expect(try await store.leaseCalls(function: "f", limit: 10, now: at(10), leaseUntil: at(40), token: "A").isEmpty)
            #expect(try await store.functionsWithDueCalls(now: at(10)) == ["g"])
            #expect(try await store.call(id: "other")?.status == .queued)
            #expect(
                try await store.leaseCalls(function: "g", limit: 10, now: at(10), leaseUntil: at(40), token: "A").map(\.id) == ["other"])
            #expect(try await store.functionsWithDueCalls(now: at(10)).isEmpty)
            #expect(try await store.nextDueDate() == at(40))
            #expect(try await store.call(id: "future")?.status == .queued)
            #expect(try await store.callCounts(function: "f") == [.running: 4, .queued: 1])
        }
    }

    @Test(arguments: StoreKind.allCases)
    func finishNeedsTheLeaseTokenAndAttempt(_ kind: StoreKind) async throws {
        try await withAsyncStore(kind) { store throws in
            try await store.enqueue(makeCall("c1"))
            let leased = try await lease(store, now: 1, until: 30)
            let answer = makeResult(201, body: Data([0x00, 0xFF, 0x10]))
            #expect(try await !store.finishCall(id: "c1", token: "B", attempt: 1, outcome: .succeeded(answer), now: at(2)))
            #expect(try await !store.finishCall(id: "c1", token: "A", attempt: 2, outcome: .succeeded(answer), now: at(2)))
            #expect(try await !store.finishCall(id: "nope", token: "A", attempt: 1, outcome: .succeeded(answer), now: at(2)))
            #expect(try await store.call(id: "c1") == leased)

            #expect(try await store.finishCall(id: "c1", token: "A", attempt: 1, outcome: .succeeded(answer), now: at(2)))
            let done = try #require(try await store.call(id: "c1"))
            #expect(done.status == .succeeded && done.attempts == 1 && done.finishedAt == at(2) && done.updatedAt == at(2))
            #expect(done.result == answer && done.lastError == nil && done.callback.status == .none)
            #expect(try await !store.finishCall(id: "c1", token: "A", attempt: 1, outcome: .failed(nil, error: "late"), now: at(3)))
            #expect(try await store.call(id: "c1") == done)
            #expect(try await store.nextDueDate() == nil)
        }
    }

    @Test(arguments: StoreKind.allCases)
    func failedAndDeadOutcomesAreFinal(_ kind: StoreKind) async throws {
        try await withAsyncStore(kind) { store throws in
            try await store.enqueue(makeCall("failed"))
            try await store.enqueue(makeCall("dead", function: "g"))
            try await lease(store, now: 1, until: 30)
            try await lease(store, function: "g", now: 1, until: 30)
            #expect(try await store.finishCall(id: "failed", token: "A", attempt: 1, outcome: .failed(nil, error: "gone"), now: at(2)))
            let dead = AsyncOutcome.dead(makeResult(503), error: "gave up")
            #expect(try await store.finishCall(id: "dead", token: "A", attempt: 1, outcome: dead, now: at(3)))
            let failed = try #require(try await store.call(id: "failed"))
            #expect(failed.status == .failed && failed.lastError == "gone" && failed.result == nil && failed.finishedAt == at(2))
            let gone = try #require(try await store.call(id: "dead"))
            #expect(gone.status == .dead && gone.lastError == "gave up" && gone.result == makeResult(503) && gone.finishedAt == at(3))
            #expect(try await store.functionsWithDueCalls(now: at(1000)).isEmpty)
        }
    }

    @Test(arguments: StoreKind.allCases)
    func retryRequeuesAndIsNotDueEarly(_ kind: StoreKind) async throws {
        try await withAsyncStore(kind) { store throws in
            try await store.enqueue(makeCall("c1", callbackURL: "http://example.com/cb"))
            try await lease(store, now: 1, until: 30)
            let outcome = AsyncOutcome.retry(at: at(20), error: "the function answered 503", result: makeResult(503))
            #expect(try await store.finishCall(id: "c1", token: "A", attempt: 1, outcome: outcome, now: at(2)))
            let queued = try #require(try await store.call(id: "c1"))
            #expect(queued.status == .queued && queued.attempts == 1 && queued.nextAttemptAt == at(20))
            #expect(queued.lastError == "the function answered 503" && queued.result == makeResult(503) && queued.finishedAt == nil)
            #expect(queued.callback.status == .none)
            #expect(try await store.leaseCallbacks(limit: 10, now: at(100), leaseUntil: at(200), token: "C").isEmpty)
            #expect(try await store.nextDueDate() == at(20))
            #expect(try await store.functionsWithDueCalls(now: at(19.5)).isEmpty)
            #expect(try await store.leaseCalls(function: "f", limit: 5, now: at(19.5), leaseUntil: at(50), token: "A").isEmpty)
            let again = try await lease(store, now: 20, until: 50)
            #expect(again.attempts == 2 && again.status == .running)
        }
    }

    @Test(arguments: StoreKind.allCases)
    func expiredLeaseRunsAgainAndTheOldLeaseIsRefused(_ kind: StoreKind) async throws {
        try await withAsyncStore(kind) { store throws in
            try await store.enqueue(makeCall("c1", maxAttempts: 3))
            try await lease(store, now: 0, until: 10, token: "A")
            #expect(try await store.functionsWithDueCalls(now: at(9.5)).isEmpty)
            #expect(try await store.leaseCalls(function: "f", limit: 5, now: at(9.5), leaseUntil: at(40), token: "B").isEmpty)
            #expect(try await store.functionsWithDueCalls(now: at(10)) == ["f"])
            let again = try await lease(store, now: 10, until: 40, token: "B")
            #expect(again.attempts == 2 && again.status == .running && again.nextAttemptAt == at(40))
            #expect(try await !store.finishCall(id: "c1", token: "A", attempt: 1, outcome: .succeeded(makeResult()), now: at(11)))
            #expect(try await !store.finishCall(id: "c1", token: "A", attempt: 2, outcome: .succeeded(makeResult()), now: at(11)))
            try await store.renewLeases(token: "A", ids: ["c1"], until: at(99))
            #expect(try await store.call(id: "c1") == again)
            #expect(try await store.finishCall(id: "c1", token: "B", attempt: 2, outcome: .succeeded(makeResult()), now: at(12)))
            #expect(try await store.call(id: "c1")?.status == .succeeded)
        }
    }

    @Test(arguments: StoreKind.allCases)
    func expiredLeaseOnTheLastAttemptIsDead(_ kind: StoreKind) async throws {
        try await withAsyncStore(kind) { store throws in
            try await store.enqueue(makeCall("hooked", maxAttempts: 1, callbackURL: "http://example.com/cb"))
            try await store.enqueue(makeCall("plain", maxAttempts: 1))
            #expect(try await store.leaseCalls(function: "f", limit: 2, now: at(0), leaseUntil: at(10), token: "A").count == 2)
            #expect(try await store.functionsWithDueCalls(now: at(11)) == ["f"])
            #expect(try await store.leaseCalls(function: "f", limit: 5, now: at(11), leaseUntil: at(40), token: "B").isEmpty)
            for id in ["hooked", "plain"] {
                let dead = try #require(try await store.call(id: id))
                #expect(dead.status == .dead && dead.attempts == 1 && dead.finishedAt == at(11))
                #expect(dead.lastError?.contains("last allowed attempt") == true, "\(dead.lastError ?? "")")
                #expect(try await !store.finishCall(id: id, token: "A", attempt: 1, outcome: .succeeded(makeResult()), now: at(12)))
            }
            #expect(try await store.call(id: "hooked")?.callback.status == .pending)
            #expect(try await store.call(id: "plain")?.callback.status == CallbackState.Status.none)
            #expect(try await store.functionsWithDueCalls(now: at(11)).isEmpty)
            #expect(try await store.nextCallbackDate() == at(11))
            let callbacks = try await store.leaseCallbacks(limit: 10, now: at(11), leaseUntil: at(20), token: "C")
            #expect(callbacks.map(\.id) == ["hooked"])
        }
    }

    @Test(arguments: StoreKind.allCases)
    func renewExtendsOnlyTheTokensLeases(_ kind: StoreKind) async throws {
        try await withAsyncStore(kind) { store throws in
            for id in ["a", "b", "c", "q"] { try await store.enqueue(makeCall(id, created: id == "q" ? 50 : 0)) }
            #expect(
                try await store.leaseCalls(function: "f", limit: 2, now: at(1), leaseUntil: at(10), token: "A").map(\.id) == ["a", "b"])
            try await lease(store, now: 1, until: 10, token: "B")
            try await store.renewLeases(token: "A", ids: ["a", "c", "q", "missing"], until: at(60))
            #expect(try await store.call(id: "a")?.nextAttemptAt == at(60))
            #expect(try await store.call(id: "b")?.nextAttemptAt == at(10))
            #expect(try await store.call(id: "c")?.nextAttemptAt == at(10))
            let queued = try #require(try await store.call(id: "q"))
            #expect(queued.status == .queued && queued.nextAttemptAt == at(50))
            try await store.renewLeases(token: "A", ids: [], until: at(70))
            #expect(try await store.functionsWithDueCalls(now: at(10)) == ["f"])
            #expect(
                try await store.leaseCalls(function: "f", limit: 5, now: at(10), leaseUntil: at(20), token: "A").map(\.id) == ["b", "c"])
        }
    }

    @Test(arguments: StoreKind.allCases)
    func releasePutsCallsBackWithoutCountingTheAttempt(_ kind: StoreKind) async throws {
        try await withAsyncStore(kind) { store throws in
            try await store.enqueue(makeCall("c1"))
            try await store.enqueue(makeCall("c2", created: 1))
            try await lease(store, now: 2, until: 30, token: "A")
            try await store.releaseCalls(ids: ["c1"], token: "B", now: at(3))
            #expect(try await store.call(id: "c1")?.status == .running)
            try await store.releaseCalls(ids: ["c1", "c2", "missing"], token: "A", now: at(4))
            let released = try #require(try await store.call(id: "c1"))
            #expect(released.status == .queued && released.attempts == 0 && released.nextAttemptAt == at(4))
            let untouched = try #require(try await store.call(id: "c2"))
            #expect(untouched.status == .queued && untouched.nextAttemptAt == at(1))
            #expect(try await !store.finishCall(id: "c1", token: "A", attempt: 1, outcome: .succeeded(makeResult()), now: at(5)))
            let leased = try await store.leaseCalls(function: "f", limit: 5, now: at(5), leaseUntil: at(30), token: "A")
            #expect(leased.map(\.id) == ["c2", "c1"] && leased.allSatisfy { $0.attempts == 1 })
        }
    }

    @Test(arguments: StoreKind.allCases)
    func callbacksAreLeasedRetriedAndDelivered(_ kind: StoreKind) async throws {
        try await withAsyncStore(kind) { store throws in
            try await store.enqueue(makeCall("hooked", callbackURL: "http://example.com/cb"))
            try await store.enqueue(makeCall("plain", function: "g"))
            try await lease(store, now: 1, until: 30)
            try await lease(store, function: "g", now: 1, until: 30)
            #expect(try await store.nextCallbackDate() == nil)
            #expect(try await store.finishCall(id: "hooked", token: "A", attempt: 1, outcome: .succeeded(makeResult()), now: at(2)))
            #expect(try await store.finishCall(id: "plain", token: "A", attempt: 1, outcome: .succeeded(makeResult()), now: at(2)))
            #expect(try await store.call(id: "hooked")?.callback == CallbackState(status: .pending, attempts: 0))
            #expect(try await store.call(id: "plain")?.callback == CallbackState())
            #expect(try await store.nextCallbackDate() == at(2))
            #expect(try await store.leaseCallbacks(limit: 10, now: at(1.5), leaseUntil: at(20), token: "C").isEmpty)
            #expect(try await store.leaseCallbacks(limit: 0, now: at(2), leaseUntil: at(20), token: "C").isEmpty)

            let first = try await store.leaseCallbacks(limit: 10, now: at(2), leaseUntil: at(20), token: "C")
            #expect(first.map(\.id) == ["hooked"] && first.first?.callback.attempts == 1 && first.first?.result == makeResult())
            #expect(try await store.leaseCallbacks(limit: 10, now: at(19.5), leaseUntil: at(40), token: "C").isEmpty)
            #expect(try await store.nextCallbackDate() == at(20))

            // A stale token or attempt changes nothing.
            try await store.finishCallback(id: "hooked", token: "X", attempt: 1, outcome: .delivered, now: at(3))
            try await store.finishCallback(id: "hooked", token: "C", attempt: 2, outcome: .delivered, now: at(3))
            #expect(try await store.call(id: "hooked")?.callback.status == .pending)

            try await store.finishCallback(
                id: "hooked", token: "C", attempt: 1, outcome: .retry(at: at(30), error: "answered 500"), now: at(3))
            let retrying = try #require(try await store.call(id: "hooked")?.callback)
            #expect(retrying.status == .pending && retrying.attempts == 1 && retrying.lastError == "answered 500")
            #expect(try await store.nextCallbackDate() == at(30))
            #expect(try await store.leaseCallbacks(limit: 10, now: at(29.5), leaseUntil: at(60), token: "C").isEmpty)
            let second = try await store.leaseCallbacks(limit: 10, now: at(30), leaseUntil: at(60), token: "D")
            #expect(second.first?.callback.attempts == 2)
            try await store.finishCallback(id: "hooked", token: "C", attempt: 1, outcome: .delivered, now: at(31))
            #expect(try await store.call(id: "hooked")?.callback.status == .pending)
            try await store.finishCallback(id: "hooked", token: "D", attempt: 2, outcome: .delivered, now: at(32))
            let delivered = try #require(try await store.call(id: "hooked")?.callback)
            #expect(delivered == CallbackState(status: .delivered, attempts: 2, lastError: nil, deliveredAt: at(32)))
            #expect(try await store.nextCallbackDate() == nil)
            #expect(try await store.leaseCallbacks(limit: 10, now: at(1000), leaseUntil: at(2000), token: "C").isEmpty)
            try await store.finishCallback(id: "hooked", token: "D", attempt: 2, outcome: .failed(error: "late"), now: at(33))
            #expect(try await store.call(id: "hooked")?.callback.status == .delivered)
        }
    }

    @Test(arguments: StoreKind.allCases)
    func callbackLeaseExpiresAndFailureIsFinal(_ kind: StoreKind) async throws {
        try await withAsyncStore(kind) { store throws in
            try await store.enqueue(makeCall("c1", callbackURL: "http://example.com/cb"))
            try await lease(store, now: 1, until: 30)
            #expect(try await store.finishCall(id: "c1", token: "A", attempt: 1, outcome: .failed(nil, error: "gone"), now: at(2)))
            #expect(try await store.call(id: "c1")?.callback.status == .pending)
            #expect(try await store.leaseCallbacks(limit: 1, now: at(2), leaseUntil: at(10), token: "C").count == 1)
            // The deliverer died: the callback falls due again when its lease ends.
            let again = try await store.leaseCallbacks(limit: 1, now: at(10), leaseUntil: at(20), token: "D")
            #expect(again.first?.callback.attempts == 2)
            try await store.finishCallback(id: "c1", token: "C", attempt: 1, outcome: .delivered, now: at(11))
            try await store.finishCallback(id: "c1", token: "D", attempt: 2, outcome: .failed(error: "gave up"), now: at(12))
            let callback = try #require(try await store.call(id: "c1")?.callback)
            #expect(callback.status == .failed && callback.lastError == "gave up" && callback.deliveredAt == nil && callback.attempts == 2)
            #expect(try await store.nextCallbackDate() == nil)
            #expect(try await store.leaseCallbacks(limit: 1, now: at(100), leaseUntil: at(200), token: "C").isEmpty)
        }
    }
}

extension AsyncCallStoreTests {
    /// Enqueues `id`, leases it and records `outcome` at `at(finished)`.
    func finished(
        _ store: any AsyncCallStore, _ id: String, function: String = "f", outcome: AsyncOutcome, finished: Double = 2,
        callbackURL: String? = nil, body: Data = Data("request body".utf8)
    ) async throws {
        try await store.enqueue(makeCall(id, function: function, maxAttempts: 1, callbackURL: callbackURL, body: body))
        let leased = try await store.leaseCalls(function: function, limit: 1, now: at(1), leaseUntil: at(1000), token: "A")
        #expect(leased.map(\.id) == [id])
        #expect(try await store.finishCall(id: id, token: "A", attempt: 1, outcome: outcome, now: at(finished)))
    }

    @Test(arguments: StoreKind.allCases)
    func listsFilterNewestFirstWithinTheLimit(_ kind: StoreKind) async throws {
        try await withAsyncStore(kind) { store throws in
            try await finished(store, "f-ok", outcome: .succeeded(makeResult()))
            try await finished(store, "g-dead", function: "g", outcome: .dead(nil, error: "x"))
            try await finished(store, "f-failed", outcome: .failed(makeResult(400), error: "bad"))
            for index in 0..<3 { try await store.enqueue(makeCall("f-queued-\(index)", created: Double(index))) }
            try await store.enqueue(makeCall("g-queued", function: "g"))

            let all = try await store.calls(matching: AsyncCallFilter())
            #expect(all.map(\.id) == ["g-queued", "f-queued-2", "f-queued-1", "f-queued-0", "f-failed", "g-dead", "f-ok"])
            #expect(try await store.calls(matching: AsyncCallFilter(limit: 2)).map(\.id) == ["g-queued", "f-queued-2"])
            #expect(try await store.calls(matching: AsyncCallFilter(limit: 0)).isEmpty)
            #expect(try await store.calls(matching: AsyncCallFilter(function: "g")).map(\.id) == ["g-queued", "g-dead"])
            #expect(try await store.calls(matching: AsyncCallFilter(status: .queued)).count == 4)
            #expect(
                try await store.calls(matching: AsyncCallFilter(function: "f", status: .queued, limit: 2)).map(\.id) == [
                    "f-queued-2", "f-queued-1",
                ])
            #expect(try await store.calls(matching: AsyncCallFilter(function: "f", status: .failed)).map(\.id) == ["f-failed"])
            #expect(try await store.calls(matching: AsyncCallFilter(function: "nobody")).isEmpty)
            let failed = try #require(try await store.calls(matching: AsyncCallFilter(status: .failed)).first)
            #expect(failed.lastError == "bad" && failed.result?.status == 400 && failed.finishedAt == at(2) && failed.attempts == 1)
        }
    }

    @Test(arguments: StoreKind.allCases)
    func listsCarryBodySizesButNoBodies(_ kind: StoreKind) async throws {
        try await checkListsCarryBodySizesButNoBodies(kind)
    }

    /// Lists hold the bodies' sizes, not the bodies; `call(id:)` has both.
    func checkListsCarryBodySizesButNoBodies(_ kind: StoreKind) async throws {
        try await withAsyncStore(kind) { store throws in
            let request = Data(repeating: 0xAB, count: 1000)
            try await finished(store, "c1", outcome: .succeeded(makeResult(body: Data(repeating: 0xCD, count: 300))), body: request)
            let summary = try #require(try await store.calls(matching: AsyncCallFilter()).first)
            #expect(summary.request.bodyBytes == 1000 && summary.result?.bodyBytes == 300)
            #expect(summary.request.body.isEmpty, "a list loads no request bodies")
            #expect(summary.result?.body.isEmpty == true, "a list loads no answer bodies")
            let full = try #require(try await store.call(id: "c1"))
            #expect(full.request.body == request && full.result?.body == Data(repeating: 0xCD, count: 300))
            #expect(full.request.bodyBytes == 1000 && full.result?.bodyBytes == 300)
        }
    }

    @Test(arguments: StoreKind.allCases)
    func countsPerStatus(_ kind: StoreKind) async throws {
        try await withAsyncStore(kind) { store throws in
            #expect(try await store.callCounts(function: nil).isEmpty)
            try await finished(store, "ok", outcome: .succeeded(makeResult()))
            try await finished(store, "dead", function: "g", outcome: .dead(nil, error: "x"))
            try await store.enqueue(makeCall("q1"))
            try await store.enqueue(makeCall("q2", function: "g"))
            try await store.enqueue(makeCall("r1", function: "h"))
            try await lease(store, function: "h", now: 1, until: 30)
            #expect(try await store.callCounts(function: nil) == [.succeeded: 1, .dead: 1, .queued: 2, .running: 1])
            #expect(try await store.callCounts(function: "g") == [.dead: 1, .queued: 1])
            #expect(try await store.callCounts(function: "nobody").isEmpty)
        }
    }

    @Test(arguments: StoreKind.allCases)
    func requeueOnlyDeadOrFailedCalls(_ kind: StoreKind) async throws {
        try await withAsyncStore(kind) { store throws in
            try await finished(store, "dead", outcome: .dead(makeResult(503), error: "gave up"), callbackURL: "http://example.com/cb")
            try await finished(store, "failed", function: "g", outcome: .failed(nil, error: "gone"))
            try await finished(store, "ok", function: "h", outcome: .succeeded(makeResult()))
            try await store.enqueue(makeCall("queued", function: "q"))
            try await store.enqueue(makeCall("running", function: "r"))
            try await lease(store, function: "r", now: 1, until: 30)
            _ = try await store.leaseCallbacks(limit: 10, now: at(2), leaseUntil: at(3), token: "C")
            try await store.finishCallback(id: "dead", token: "C", attempt: 1, outcome: .failed(error: "no"), now: at(2))

            let requeued = try await store.requeueCall(id: "dead", now: at(50))
            #expect(requeued.status == .queued && requeued.attempts == 0 && requeued.nextAttemptAt == at(50))
            #expect(requeued.finishedAt == nil && requeued.callback.status == .none && requeued.callback.attempts == 0)
            #expect(requeued.maxAttempts == 1 && requeued.request.body == Data("request body".utf8))
            #expect(try await store.call(id: "dead") == requeued)
            #expect(try await store.requeueCall(id: "failed", now: at(50)).status == .queued)
            for id in ["ok", "queued", "running", "dead"] {
                #expect(await swiftletErrorCode { _ = try await store.requeueCall(id: id, now: at(51)) } == .conflict, "\(id)")
            }
            #expect(await swiftletErrorCode { _ = try await store.requeueCall(id: "missing", now: at(51)) } == .notFound)
            #expect(try await store.call(id: "ok")?.status == .succeeded)

            let again = try await lease(store, now: 50, until: 80)
            #expect(again.id == "dead" && again.attempts == 1)
            #expect(try await store.finishCall(id: "dead", token: "A", attempt: 1, outcome: .succeeded(makeResult()), now: at(51)))
            #expect(try await store.call(id: "dead")?.callback == CallbackState(status: .pending, attempts: 0))
        }
    }

    @Test(arguments: StoreKind.allCases)
    func purgeRemovesOnlyOldSettledFinalCalls(_ kind: StoreKind) async throws {
        try await withAsyncStore(kind) { store throws in
            let url = "http://example.com/cb"
            try await finished(store, "old-ok", outcome: .succeeded(makeResult()), finished: 10)
            try await finished(store, "old-failed", function: "a", outcome: .failed(nil, error: "x"), finished: 10)
            try await finished(store, "old-dead-delivered", function: "b", outcome: .dead(nil, error: "x"), finished: 10, callbackURL: url)
            try await finished(store, "old-pending", function: "c", outcome: .succeeded(makeResult()), finished: 10, callbackURL: url)
            try await finished(store, "at-cutoff", function: "d", outcome: .succeeded(makeResult()), finished: 20)
            try await finished(store, "new-ok", function: "e", outcome: .succeeded(makeResult()), finished: 30)
            let callbacks = try await store.leaseCallbacks(limit: 10, now: at(10), leaseUntil: at(11), token: "C")
            #expect(Set(callbacks.map(\.id)) == ["old-dead-delivered", "old-pending"])
            try await store.finishCallback(id: "old-dead-delivered", token: "C", attempt: 1, outcome: .delivered, now: at(10))
            try await store.enqueue(makeCall("old-queued", function: "q"))
            try await store.enqueue(makeCall("old-running", function: "r"))
            try await lease(store, function: "r", now: 1, until: 5)

            #expect(try await store.purgeCalls(finishedBefore: at(20)) == 3)
            for id in ["old-ok", "old-failed", "old-dead-delivered"] { #expect(try await store.call(id: id) == nil, "\(id)") }
            for id in ["old-pending", "at-cutoff", "new-ok", "old-queued", "old-running"] {
                #expect(try await store.call(id: id) != nil, "\(id)")
            }
            #expect(try await store.purgeCalls(finishedBefore: at(20)) == 0)
            #expect(try await store.purgeCalls(finishedBefore: at(31)) == 2)
            #expect(try await store.call(id: "old-pending") != nil)
        }
    }

    @Test(arguments: StoreKind.allCases)
    func concurrentEnqueuesAreAllStored(_ kind: StoreKind) async throws {
        try await withAsyncStore(kind) { store throws in
            let count = 500
            try await withThrowingTaskGroup(of: Void.self) { group in
                for index in 0..<count {
                    group.addTask {
                        try await store.enqueue(makeCall("call-\(index)", function: "f\(index % 5)", body: Data("body \(index)".utf8)))
                    }
                }
                try await group.waitForAll()
            }
            #expect(try await store.callCounts(function: nil) == [.queued: count])
            let listed = try await store.calls(matching: AsyncCallFilter(limit: 10 * count))
            #expect(listed.count == count && Set(listed.map(\.id)) == Set((0..<count).map { "call-\($0)" }))
            #expect(try await store.call(id: "call-123")?.request.body == Data("body 123".utf8))
            #expect(try await store.functionsWithDueCalls(now: at(0)) == ["f0", "f1", "f2", "f3", "f4"])
        }
    }

    @Test(arguments: StoreKind.allCases)
    func concurrentDuplicateEnqueuesHaveOneWinner(_ kind: StoreKind) async throws {
        try await withAsyncStore(kind) { store throws in
            let codes = await withTaskGroup(of: SwiftletError.Code?.self) { group in
                for index in 0..<20 {
                    group.addTask {
                        do {
                            try await store.enqueue(makeCall("same", created: Double(index)))
                            return nil
                        } catch {
                            return (error as? SwiftletError)?.code ?? .internal
                        }
                    }
                }
                return await group.reduce(into: []) { $0.append($1) }
            }
            #expect(codes.filter { $0 == nil }.count == 1)
            #expect(codes.filter { $0 == .conflict }.count == 19)
            #expect(try await store.callCounts(function: nil) == [.queued: 1])
        }
    }

    @Test(arguments: StoreKind.allCases)
    func concurrentLeasersNeverShareACall(_ kind: StoreKind) async throws {
        try await withAsyncStore(kind) { store throws in
            for index in 0..<200 { try await store.enqueue(makeCall("c\(index)", created: Double(index) / 8)) }
            let leased = try await withThrowingTaskGroup(of: [String].self) { group in
                for worker in 0..<6 {
                    group.addTask {
                        var mine: [String] = []
                        while true {
                            let batch = try await store.leaseCalls(
                                function: "f", limit: 7, now: at(100), leaseUntil: at(500), token: "w\(worker)")
                            if batch.isEmpty { return mine }
                            mine += batch.map(\.id)
                        }
                    }
                }
                return try await group.reduce(into: []) { $0 += $1 }
            }
            #expect(leased.count == 200 && Set(leased).count == 200)
            #expect(try await store.callCounts(function: "f") == [.running: 200])
        }
    }
}

/// What only the SQLite store promises: calls survive the process.
@Suite("Async call store durability")
struct AsyncCallStoreDurabilityTests {
    static let logger = Logger(label: "swiftlet.store.tests")

    @Test func callsSurviveReopeningByteForByte() async throws {
        try await withTemporaryDirectory { dir throws in
            let path = dir + "/swiftlet.db"
            var binary = Data((0...255).map { UInt8($0) })
            binary += Data([0x00, 0x00, 0xFF, 0xFF, 0x00])
            let headers = [
                HeaderField(name: "X-Repeat", value: "1"), HeaderField(name: "X-Repeat", value: "2"),
                HeaderField(name: "X-Unicode", value: "héllo ✓"), HeaderField(name: "X-Quote", value: "\"{[,]}\"\\"),
                HeaderField(name: "Content-Type", value: "application/octet-stream"),
            ]
            let call = makeCall("durable", maxAttempts: 9, callbackURL: "https://example.com:8443/cb?x=1", body: binary, headers: headers)
            let answer = AsyncResult(status: 200, headers: headers, body: Data(binary.reversed()), durationSeconds: 1.5)
            do {
                let store = try SQLiteStore(path: path, logger: Self.logger)
                try await store.enqueue(call)
                try await store.enqueue(makeCall("finished", function: "g", body: Data()))
                try await lease(store, function: "g", now: 1, until: 30)
                #expect(try await store.finishCall(id: "finished", token: "A", attempt: 1, outcome: .succeeded(answer), now: at(2)))
            }
            let reopened = try SQLiteStore(path: path, logger: Self.logger)
            let stored = try #require(try await reopened.call(id: "durable"))
            #expect(stored.request.body == binary && stored.request.body.count == 261)
            #expect(stored.request.headers == headers)
            #expect(stored.request == call.request)
            #expect(stored.status == .queued && stored.maxAttempts == 9 && stored.callbackURL == call.callbackURL)
            #expect(stored.createdAt == call.createdAt && stored.nextAttemptAt == call.nextAttemptAt)
            let done = try #require(try await reopened.call(id: "finished"))
            #expect(done.status == .succeeded && done.result == answer && done.request.body.isEmpty)
            #expect(try await reopened.callCounts(function: nil) == [.queued: 1, .succeeded: 1])
            #expect(try await lease(reopened, now: 3, until: 30).request.body == binary)
        }
    }

    @Test func aLeaseSurvivesReopeningAndExpires() async throws {
        try await withTemporaryDirectory { dir throws in
            let path = dir + "/swiftlet.db"
            do {
                let store = try SQLiteStore(path: path, logger: Self.logger)
                try await store.enqueue(makeCall("c1"))
                try await lease(store, now: 1, until: 30, token: "dead-process")
            }
            let reopened = try SQLiteStore(path: path, logger: Self.logger)
            #expect(try await reopened.call(id: "c1")?.status == .running)
            #expect(try await reopened.functionsWithDueCalls(now: at(29)).isEmpty)
            let again = try await lease(reopened, now: 30, until: 60, token: "new-process")
            #expect(again.attempts == 2)
        }
    }
}
