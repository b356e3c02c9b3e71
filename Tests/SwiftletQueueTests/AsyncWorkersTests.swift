import Foundation
import SwiftletCore
import SwiftletQueue
import SwiftletStore
import Testing

/// The workers running calls: success, retries at the policy's time, dead letters and re-queues,
/// final failures, and graceful shutdown. A `MemoryStore`, a scripted invoker and callback
/// receiver, and a clock the test moves.
@Suite("Async workers", .timeLimit(.minutes(1)))
struct AsyncWorkersTests {
    @Test("a call succeeds and its callback is delivered once")
    func success() async throws {
        let (store, clock) = (MemoryStore(), TestClock())
        let invoker = FakeInvoker { _, _ in .answered(okResult(201, body: "made", headers: [HeaderField(name: "X-Out", value: "1")])) }
        let callbacks = FakeCallbackSender()
        let workers = makeWorkers(store: store, invoker: invoker, callbacks: callbacks, clock: clock)
        try await withWorkers(workers) { _ in
            try await store.enqueue(makeCall("c1", clock: clock, callbackURL: "http://example.com/cb"))
            workers.notify()
            try await waitUntil("the callback is delivered") { await store.call(id: "c1")?.callback.status == .delivered }
            try await settle()
        }
        let call = try #require(await store.call(id: "c1"))
        #expect(call.status == .succeeded && call.attempts == 1 && call.finishedAt == clock.now() && call.lastError == nil)
        #expect(
            call.result?.status == 201 && call.result?.body == Data("made".utf8)
                && call.result?.headers == [HeaderField(name: "X-Out", value: "1")])
        #expect(call.callback == CallbackState(status: .delivered, attempts: 1, deliveredAt: clock.now()))
        #expect(invoker.invocations == [.init(id: "c1", function: "echo", attempt: 1, nth: 1)])
        #expect(callbacks.delivered.count == 1)
        #expect(callbacks.delivered.first?.result?.status == 201 && callbacks.delivered.first?.callbackURL == "http://example.com/cb")
        #expect(invoker.cancelled == 0)
    }

    @Test("a 503 is retried at exactly now + the policy's delay, and the retry succeeds")
    func retryAtThePolicysTime() async throws {
        let (store, clock) = (MemoryStore(), TestClock())
        let invoker = FakeInvoker(statuses: [503, 200])
        let workers = makeWorkers(store: store, invoker: invoker, clock: clock)
        let failedAt = clock.now()
        let expected = failedAt.addingTimeInterval(fastConfiguration().retry.delay(afterAttempt: 1, random: { _ in 1 }).inSeconds)
        #expect(expected == failedAt.addingTimeInterval(0.005))
        try await withWorkers(workers) { _ in
            try await store.enqueue(makeCall("c1", clock: clock))
            workers.notify()
            try await waitUntil("the first attempt failed") { await store.call(id: "c1")?.lastError != nil }
            let waiting = try #require(await store.call(id: "c1"))
            #expect(waiting.status == .queued && waiting.attempts == 1 && waiting.nextAttemptAt == expected)
            #expect(waiting.lastError == "the function answered 503" && waiting.result?.status == 503 && waiting.finishedAt == nil)
            // Not due before its time, however often the workers look.
            workers.notify()
            try await settle()
            #expect(invoker.invocations.count == 1)
            #expect(await store.call(id: "c1")?.status == .queued)

            clock.set(expected)
            workers.notify()
            try await waitUntil("the retry succeeded") { await store.call(id: "c1")?.status == .succeeded }
        }
        let call = try #require(await store.call(id: "c1"))
        #expect(call.attempts == 2 && call.lastError == nil && call.result?.status == 200 && call.startedAt == expected)
        #expect(invoker.invocations.map(\.attempt) == [1, 2])
    }

    @Test("a call out of attempts is dead; re-queued, it runs again and succeeds")
    func deadThenRequeued() async throws {
        let (store, clock) = (MemoryStore(), TestClock())
        let invoker = FakeInvoker(statuses: [502, 502, 502, 200])
        let callbacks = FakeCallbackSender()
        let workers = makeWorkers(store: store, invoker: invoker, callbacks: callbacks, clock: clock)
        try await withWorkers(workers) { _ in
            try await store.enqueue(makeCall("c1", clock: clock, maxAttempts: 3, callbackURL: "http://example.com/cb"))
            workers.notify()
            let tick = {
                clock.advance(by: 0.1)
                workers.notify()
            }
            try await waitUntil("the call is dead and its callback delivered", step: tick) {
                let call = await store.call(id: "c1")
                return call?.status == .dead && call?.callback.status == .delivered
            }
            let dead = try #require(await store.call(id: "c1"))
            #expect(dead.attempts == 3 && dead.result?.status == 502)
            #expect(dead.lastError == "the function answered 502; gave up after 3 attempts")
            #expect(invoker.invocations.map(\.attempt) == [1, 2, 3])
            #expect(callbacks.delivered.map(\.status) == [.dead])

            let requeued = try await store.requeueCall(id: "c1", now: clock.now())
            #expect(requeued.status == .queued && requeued.attempts == 0)
            workers.notify()
            try await waitUntil("the re-queued call succeeded and its callback was delivered") {
                let call = await store.call(id: "c1")
                return call?.status == .succeeded && call?.callback.status == .delivered
            }
        }
        let call = try #require(await store.call(id: "c1"))
        #expect(call.attempts == 1 && call.result?.status == 200 && call.lastError == nil)
        #expect(invoker.invocations.map(\.nth) == [1, 2, 3, 4] && invoker.invocations.map(\.attempt) == [1, 2, 3, 1])
        #expect(callbacks.delivered.map(\.status) == [.dead, .succeeded])
    }

    @Test("a 400 is final: one invocation, no retry", arguments: [400, 404, 500, 501])
    func finalAnswerIsNotRetried(_ status: Int) async throws {
        let (store, clock) = (MemoryStore(), TestClock())
        let invoker = FakeInvoker(statuses: [status, 200])
        let workers = makeWorkers(store: store, invoker: invoker, clock: clock)
        try await withWorkers(workers) { _ in
            try await store.enqueue(makeCall("c1", clock: clock))
            workers.notify()
            try await waitUntil("the call failed") { await store.call(id: "c1")?.status == .failed }
            for _ in 0..<5 {
                clock.advance(by: 60)
                workers.notify()
                try await Task.sleep(for: .milliseconds(40))
            }
        }
        let call = try #require(await store.call(id: "c1"))
        #expect(call.attempts == 1 && call.result?.status == status && call.lastError == "the function answered \(status)")
        #expect(invoker.invocations.count == 1)
    }

    @Test("a function that cannot be called at all fails at once; the callback reports it")
    func nonRetryableFailure() async throws {
        let (store, clock) = (MemoryStore(), TestClock())
        let invoker = FakeInvoker { _, _ in .failed(retryable: false, status: 404, message: "function 'gone' not found") }
        let callbacks = FakeCallbackSender()
        let workers = makeWorkers(store: store, invoker: invoker, callbacks: callbacks, clock: clock)
        try await withWorkers(workers) { _ in
            try await store.enqueue(makeCall("c1", function: "gone", clock: clock, callbackURL: "http://example.com/cb"))
            workers.notify()
            try await waitUntil("the failure is reported") { await store.call(id: "c1")?.callback.status == .delivered }
        }
        let call = try #require(await store.call(id: "c1"))
        #expect(call.status == .failed && call.result == nil && call.lastError == "function 'gone' not found")
        #expect(invoker.invocations.count == 1)
        #expect(callbacks.delivered.count == 1 && callbacks.delivered.first?.result == nil)
    }

    @Test("graceful shutdown puts a call that outlives the drain back in the queue, its attempt not counted")
    func shutdownReleasesABlockedCall() async throws {
        let (store, clock) = (MemoryStore(), TestClock())
        let invoker = FakeInvoker { _, _ in
            try? await Task.sleep(for: .seconds(20))
            return .answered(okResult())
        }
        let workers = makeWorkers(
            store: store, invoker: invoker, clock: clock, configuration: fastConfiguration(drainTimeout: .milliseconds(300)))
        try await withWorkers(workers) { running in
            try await store.enqueue(makeCall("c1", clock: clock))
            workers.notify()
            try await waitUntil("the call runs") { invoker.runningNow == 1 }
            #expect(await store.call(id: "c1")?.status == .running)
            #expect(await store.call(id: "c1")?.attempts == 1)
            clock.advance(by: 1)
            let took = await running.stop()
            #expect(took >= .milliseconds(300), "the drain waited \(took)")
            #expect(took < .seconds(5), "the drain took \(took)")
        }
        let call = try #require(await store.call(id: "c1"))
        #expect(call.status == .queued && call.attempts == 0 && call.nextAttemptAt == clock.now() && call.result == nil)
        #expect(invoker.invocations.count == 1 && invoker.cancelled == 1 && invoker.runningNow == 0)
        #expect(workers.runningCount == 0)

        // The next workers run it as a first attempt.
        let next = FakeInvoker()
        let restarted = makeWorkers(store: store, invoker: next, clock: clock)
        try await withWorkers(restarted) { _ in
            restarted.notify()
            try await waitUntil("the released call succeeded") { await store.call(id: "c1")?.status == .succeeded }
        }
        #expect(await store.call(id: "c1")?.attempts == 1)
        #expect(next.invocations.count == 1)
    }

    @Test("graceful shutdown lets a call that finishes within the drain finish")
    func shutdownDrainsAShortCall() async throws {
        let (store, clock) = (MemoryStore(), TestClock())
        let invoker = FakeInvoker(statuses: [200], hold: .milliseconds(100))
        let workers = makeWorkers(store: store, invoker: invoker, clock: clock, configuration: fastConfiguration(drainTimeout: .seconds(3)))
        try await withWorkers(workers) { running in
            try await store.enqueue(makeCall("c1", clock: clock))
            workers.notify()
            try await waitUntil("the call runs") { invoker.runningNow == 1 }
            let took = await running.stop()
            #expect(took < .seconds(3), "the drain took \(took)")
        }
        let call = try #require(await store.call(id: "c1"))
        #expect(call.status == .succeeded && call.attempts == 1)
        #expect(invoker.invocations.count == 1 && invoker.cancelled == 0)
    }
}
