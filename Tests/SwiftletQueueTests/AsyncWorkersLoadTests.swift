import Foundation
import SwiftletCore
import SwiftletQueue
import SwiftletStore
import Testing

/// The workers' bounds (per function and in all) and a thousand calls at once.
@Suite("Async workers under load", .timeLimit(.minutes(1)))
struct AsyncWorkersLoadTests {
    @Test("com.swiftlet.async.concurrency bounds the calls of a function running at once")
    func perFunctionConcurrency() async throws {
        let (store, clock) = (MemoryStore(), TestClock())
        let spec = FunctionSpec(name: "narrow", runtime: .python3, codeDigest: "d", labels: [AsyncLabels.Key.concurrency: "2"])
        try await store.insertFunction(spec, code: Data())
        let invoker = FakeInvoker(statuses: [200], hold: .milliseconds(100))
        let workers = makeWorkers(store: store, invoker: invoker, clock: clock)
        try await withWorkers(workers) { _ in
            for index in 0..<6 {
                try await store.enqueue(makeCall("n\(index)", function: "narrow", clock: clock))
                try await store.enqueue(makeCall("w\(index)", function: "wide", clock: clock))
            }
            workers.notify()
            try await waitUntil("all calls succeeded") { await store.callCounts(function: nil) == [.succeeded: 12] }
        }
        #expect(invoker.maxConcurrent("narrow") == 2)
        // Without the label, the default (4) applies.
        #expect(invoker.maxConcurrent("wide") == AsyncLabels.defaultConcurrency)
        #expect(invoker.invocations.count == 12)
    }

    @Test("the workers setting bounds the calls running at once across functions")
    func globalWorkersBound() async throws {
        let (store, clock) = (MemoryStore(), TestClock())
        let invoker = FakeInvoker(statuses: [200], hold: .milliseconds(50))
        let workers = makeWorkers(store: store, invoker: invoker, clock: clock, configuration: fastConfiguration(workers: 3))
        try await withWorkers(workers) { _ in
            for index in 0..<20 { try await store.enqueue(makeCall("c\(index)", function: "f\(index % 4)", clock: clock)) }
            workers.notify()
            try await waitUntil("all calls succeeded") { await store.callCounts(function: nil) == [.succeeded: 20] }
        }
        #expect(invoker.maxConcurrent == 3)
        #expect(invoker.invocations.count == 20)
    }

    @Test("a thousand calls enqueued at once all succeed, each run once and each callback delivered once")
    func thousandCalls() async throws {
        let (store, clock) = (MemoryStore(), TestClock())
        let invoker = FakeInvoker { call, _ in .answered(okResult(body: "answer for \(call.id)")) }
        let callbacks = FakeCallbackSender()
        let workers = makeWorkers(store: store, invoker: invoker, callbacks: callbacks, clock: clock)
        let count = 1000
        try await withWorkers(workers) { _ in
            try await withThrowingTaskGroup(of: Void.self) { group in
                for index in 0..<count {
                    group.addTask {
                        try await store.enqueue(
                            makeCall("c\(index)", function: "f\(index % 10)", clock: clock, callbackURL: "http://example.com/\(index)"))
                        if index % 50 == 0 { workers.notify() }
                    }
                }
                try await group.waitForAll()
            }
            workers.notify()
            try await waitUntil("every call succeeded and every callback was delivered", timeout: .seconds(40)) {
                guard await store.callCounts(function: nil) == [.succeeded: count] else { return false }
                return await store.calls(matching: AsyncCallFilter(limit: count)).allSatisfy { $0.callback.status == .delivered }
            }
            try await settle()
        }
        let ids = Set((0..<count).map { "c\($0)" })
        #expect(invoker.invocations.count == count)
        #expect(Set(invoker.invocationCounts.keys) == ids && invoker.invocationCounts.values.allSatisfy { $0 == 1 })
        #expect(callbacks.delivered.count == count)
        #expect(Set(callbacks.deliveryCounts.keys) == ids && callbacks.deliveryCounts.values.allSatisfy { $0 == 1 })
        #expect(
            callbacks.delivered.allSatisfy {
                $0.result?.body == Data("answer for \($0.id)".utf8) && $0.callbackURL == "http://example.com/\($0.id.dropFirst())"
            })
        #expect(invoker.maxConcurrent <= 32)
        for function in (0..<10).map({ "f\($0)" }) { #expect(invoker.maxConcurrent(function) <= AsyncLabels.defaultConcurrency) }
    }
}
