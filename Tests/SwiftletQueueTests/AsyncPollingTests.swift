import Foundation
import SwiftletCore
import SwiftletQueue
import SwiftletStore
import Testing

/// The workers wait for work instead of spinning on the store.
@Suite("Async workers polling", .timeLimit(.minutes(1)))
struct AsyncPollingTests {
    @Test("idle workers look at the store about once per poll interval")
    func idleWorkersPollGently() async throws {
        let (memory, clock) = (MemoryStore(), TestClock())
        let store = CountingStore(memory)
        let workers = AsyncWorkers(
            store: store, functions: memory, invoker: FakeInvoker(), callbacks: FakeCallbackSender(), configuration: fastConfiguration(),
            logger: quietLogger, now: { clock.now() }, random: { _ in 1 }
        )
        try await withWorkers(workers) { _ in
            try await Task.sleep(for: .milliseconds(100))
            store.reset()
            try await Task.sleep(for: .milliseconds(500))
            // 500 ms at one look per 50 ms is 10 looks per loop; allow for slack.
            #expect(store.calls(to: "functionsWithDueCalls") <= 20)
            #expect(store.calls(to: "nextCallbackDate") <= 20)
        }
    }

    @Test(
        "while every callback worker is busy and more callbacks wait, the callback loop waits"
    )
    func busyCallbackWorkersDoNotSpin() async throws {
        let (memory, clock) = (MemoryStore(), TestClock())
        let store = CountingStore(memory)
        let callbacks = FakeCallbackSender { _ in 200 }
        let slow = SlowCallbackSender(inner: callbacks, hold: .milliseconds(600))
        let workers = AsyncWorkers(
            store: store, functions: memory, invoker: FakeInvoker(), callbacks: slow, configuration: fastConfiguration(),
            logger: quietLogger, now: { clock.now() }, random: { _ in 1 }
        )
        try await withWorkers(workers) { _ in
            for index in 0..<10 { try await store.enqueue(makeCall("c\(index)", clock: clock, callbackURL: "http://example.com/cb")) }
            workers.notify()
            try await waitUntil("four callbacks are being delivered") { callbacks.delivered.count == 4 }
            store.reset()
            try await Task.sleep(for: .milliseconds(300))
            let looks = store.calls(to: "nextCallbackDate")
            #expect(looks <= 20, "the callback loop looked at the store \(looks) times in 300 ms while all 4 callback workers were busy")
        }
    }
}

/// Delivers through `inner` after holding each delivery for `hold`.
struct SlowCallbackSender: CallbackSender {
    let inner: FakeCallbackSender
    let hold: Duration

    func deliver(_ call: AsyncCall) async throws -> Int {
        let status = try await inner.deliver(call)
        try await Task.sleep(for: hold)
        return status
    }
}
