import Foundation
import SwiftletCore
import SwiftletQueue
import SwiftletStore
import Testing

/// Callback delivery by the workers: retried on failure at the policy's time, given up after
/// `callbackMaxAttempts`.
@Suite("Async callbacks", .timeLimit(.minutes(1)))
struct AsyncCallbackTests {
    @Test("a receiver answering 500 then 200 gets the result again, at the retry policy's time")
    func failingReceiverIsRetried() async throws {
        let (store, clock) = (MemoryStore(), TestClock())
        let callbacks = FakeCallbackSender(statuses: [500, 200])
        let workers = makeWorkers(store: store, invoker: FakeInvoker(), callbacks: callbacks, clock: clock)
        let expected = clock.now().addingTimeInterval(
            fastConfiguration().callbackRetry.delay(afterAttempt: 1, random: { _ in 1 }).inSeconds)
        try await withWorkers(workers) { _ in
            try await store.enqueue(makeCall("c1", clock: clock, callbackURL: "http://example.com/cb"))
            workers.notify()
            try await waitUntil("the first delivery failed") { await store.call(id: "c1")?.callback.lastError != nil }
            let pending = try #require(await store.call(id: "c1")?.callback)
            #expect(pending.status == .pending && pending.attempts == 1 && pending.lastError == "the receiver answered 500")
            #expect(await store.nextCallbackDate() == expected)
            try await settle()
            #expect(callbacks.delivered.count == 1)

            clock.set(expected)
            workers.notify()
            try await waitUntil("the callback is delivered") { await store.call(id: "c1")?.callback.status == .delivered }
            try await settle()
        }
        let callback = try #require(await store.call(id: "c1")?.callback)
        #expect(callback == CallbackState(status: .delivered, attempts: 2, lastError: nil, deliveredAt: expected))
        #expect(callbacks.delivered.map(\.callback.attempts) == [1, 2])
        #expect(await store.call(id: "c1")?.status == .succeeded)
    }

    @Test("a receiver that keeps failing is given up after callbackMaxAttempts")
    func callbackGivesUp() async throws {
        let (store, clock) = (MemoryStore(), TestClock())
        let callbacks = FakeCallbackSender(statuses: [nil, 500, 404, 200])
        let workers = makeWorkers(
            store: store, invoker: FakeInvoker(), callbacks: callbacks, clock: clock,
            configuration: fastConfiguration(callbackMaxAttempts: 3)
        )
        try await withWorkers(workers) { _ in
            try await store.enqueue(makeCall("c1", clock: clock, callbackURL: "http://example.com/cb"))
            workers.notify()
            let tick = {
                clock.advance(by: 0.1)
                workers.notify()
            }
            try await waitUntil("the callback failed for good", step: tick) { await store.call(id: "c1")?.callback.status == .failed }
            for _ in 0..<5 {
                tick()
                try await Task.sleep(for: .milliseconds(40))
            }
        }
        let callback = try #require(await store.call(id: "c1")?.callback)
        #expect(callback.attempts == 3 && callback.deliveredAt == nil)
        #expect(callback.lastError == "the receiver answered 404; gave up after 3 attempts")
        #expect(callbacks.delivered.count == 3)
        #expect(await store.nextCallbackDate() == nil)
        #expect(await store.call(id: "c1")?.status == .succeeded)
    }

    @Test("an unreachable receiver is retried like a failing one")
    func unreachableReceiverIsRetried() async throws {
        let (store, clock) = (MemoryStore(), TestClock())
        let callbacks = FakeCallbackSender(statuses: [nil, 204])
        let workers = makeWorkers(store: store, invoker: FakeInvoker(), callbacks: callbacks, clock: clock)
        try await withWorkers(workers) { _ in
            try await store.enqueue(makeCall("c1", clock: clock, callbackURL: "http://example.com/cb"))
            workers.notify()
            try await waitUntil("the first delivery failed") { await store.call(id: "c1")?.callback.lastError != nil }
            #expect(await store.call(id: "c1")?.callback.lastError?.hasPrefix("cannot reach the callback URL") == true)
            try await waitUntil(
                "the callback is delivered",
                step: {
                    clock.advance(by: 0.1)
                    workers.notify()
                }
            ) {
                await store.call(id: "c1")?.callback.status == .delivered
            }
        }
        #expect(await store.call(id: "c1")?.callback.attempts == 2)
        #expect(callbacks.delivered.count == 2)
    }
}
