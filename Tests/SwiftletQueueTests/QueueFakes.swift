import Foundation
import SwiftletCore
import SwiftletQueue
import Synchronization

/// A clock the test moves by hand: the workers read it through their injected `now`.
final class TestClock: Sendable {
    private let date: Mutex<Date>

    /// A clock stopped at `start`.
    init(_ start: Date = Date(timeIntervalSince1970: 1_700_000_000)) {
        date = Mutex(start)
    }

    /// The current time.
    func now() -> Date { date.withLock { $0 } }

    /// Moves the clock forward by `seconds`.
    func advance(by seconds: TimeInterval) {
        date.withLock { $0 = $0.addingTimeInterval(seconds) }
    }

    /// Sets the clock to `time`.
    func set(_ time: Date) {
        date.withLock { $0 = time }
    }
}

/// An ``AsyncInvoker`` that answers from a script and records every invocation, how many run at
/// once (per function and in all) and how many ended cancelled.
final class FakeInvoker: AsyncInvoker {
    /// One invocation: the call, its attempt number, and the how-many-th invocation of that id it was (from 1).
    struct Invocation: Sendable, Equatable {
        var id: String
        var function: String
        var attempt: Int
        var nth: Int
    }

    /// Answers a call; `nth` counts invocations of the call's id, from 1, across requeues.
    typealias Script = @Sendable (_ call: AsyncCall, _ nth: Int) async -> AsyncAttempt

    private struct State {
        var invocations: [Invocation] = []
        var running: [String: Int] = [:]
        var maxRunning: [String: Int] = [:]
        var total = 0
        var maxTotal = 0
        var cancelled = 0
    }

    private let state = Mutex(State())
    private let script: Script

    /// An invoker answering each attempt with `script`.
    init(_ script: @escaping Script = { _, _ in .answered(okResult()) }) {
        self.script = script
    }

    /// An invoker answering the n-th invocation of each call with `statuses[n - 1]` (the last one after that).
    convenience init(statuses: [Int], hold: Duration = .zero) {
        self.init { _, nth in
            if hold > .zero { try? await Task.sleep(for: hold) }
            return .answered(okResult(statuses[min(nth, statuses.count) - 1]))
        }
    }

    func invoke(_ call: AsyncCall) async -> AsyncAttempt {
        let nth = state.withLock { state in
            let nth = state.invocations.count { $0.id == call.id } + 1
            state.invocations.append(Invocation(id: call.id, function: call.function, attempt: call.attempts, nth: nth))
            state.running[call.function, default: 0] += 1
            state.maxRunning[call.function] = max(state.maxRunning[call.function, default: 0], state.running[call.function]!)
            state.total += 1
            state.maxTotal = max(state.maxTotal, state.total)
            return nth
        }
        let attempt = await script(call, nth)
        state.withLock { state in
            state.running[call.function]! -= 1
            state.total -= 1
            if Task.isCancelled { state.cancelled += 1 }
        }
        return attempt
    }

    /// Every invocation so far, in order.
    var invocations: [Invocation] { state.withLock { $0.invocations } }
    /// Invocations of call `id`.
    func invocations(of id: String) -> [Invocation] { invocations.filter { $0.id == id } }
    /// Invocations per call id.
    var invocationCounts: [String: Int] { state.withLock { Dictionary($0.invocations.map { ($0.id, 1) }, uniquingKeysWith: +) } }
    /// Invocations running right now.
    var runningNow: Int { state.withLock { $0.total } }
    /// The most invocations of `function` that ran at once.
    func maxConcurrent(_ function: String) -> Int { state.withLock { $0.maxRunning[function, default: 0] } }
    /// The most invocations that ran at once, all functions together.
    var maxConcurrent: Int { state.withLock { $0.maxTotal } }
    /// Invocations that returned with their task cancelled.
    var cancelled: Int { state.withLock { $0.cancelled } }
}

/// A ``CallbackSender`` that answers from a script (nil: the receiver cannot be reached) and
/// records every delivery.
final class FakeCallbackSender: CallbackSender {
    /// The receiver could not be reached.
    struct Unreachable: Error {}

    /// The status the receiver answers to delivery attempt `call.callback.attempts`, or nil to throw.
    typealias Script = @Sendable (_ call: AsyncCall) -> Int?

    private let deliveries = Mutex<[AsyncCall]>([])
    private let script: Script

    /// A receiver answering with `script`; 200 by default.
    init(_ script: @escaping Script = { _ in 200 }) {
        self.script = script
    }

    /// A receiver answering delivery attempt n with `statuses[n - 1]` (the last one after that); nil throws.
    convenience init(statuses: [Int?]) {
        self.init { call in statuses[min(call.callback.attempts, statuses.count) - 1] }
    }

    func deliver(_ call: AsyncCall) async throws -> Int {
        deliveries.withLock { $0.append(call) }
        guard let status = script(call) else { throw Unreachable() }
        return status
    }

    /// Every delivery attempt so far, as the sender got it.
    var delivered: [AsyncCall] { deliveries.withLock { $0 } }
    /// Delivery attempts per call id.
    var deliveryCounts: [String: Int] { deliveries.withLock { Dictionary($0.map { ($0.id, 1) }, uniquingKeysWith: +) } }
}

/// A function answer with `status` and a small text body.
func okResult(_ status: Int = 200, body: String = "done", headers: [HeaderField] = []) -> AsyncResult {
    AsyncResult(status: status, headers: headers, body: Data(body.utf8), durationSeconds: 0.01)
}
