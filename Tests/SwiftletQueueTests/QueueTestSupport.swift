import Foundation
import Logging
import ServiceLifecycle
import SwiftletCore
import SwiftletQueue
import SwiftletStore
import Testing

/// A logger that drops everything.
let quietLogger = Logger(label: "swiftlet.queue.tests", factory: { _ in SwiftLogNoOpLogHandler() })

/// Short intervals for tests: look at the queue every 50 ms, retry after 5, 10, 20, 20… ms, drain for 300 ms.
func fastConfiguration(
    workers: Int = 32, callbackMaxAttempts: Int = 3, drainTimeout: Duration = .milliseconds(300)
) -> AsyncWorkers.Configuration {
    AsyncWorkers.Configuration(
        workers: workers, leaseDuration: .seconds(30),
        retry: RetryPolicy(initial: .milliseconds(5), maximum: .milliseconds(20), jitter: 0.5),
        callbackWorkers: 4, callbackMaxAttempts: callbackMaxAttempts,
        callbackRetry: RetryPolicy(initial: .milliseconds(5), maximum: .milliseconds(20), jitter: 0.5),
        retention: .seconds(3600), purgeInterval: .seconds(60), pollInterval: .milliseconds(50), drainTimeout: drainTimeout
    )
}

/// Workers over `store` (also their function store), driven by `clock`, without jitter.
func makeWorkers(
    store: MemoryStore, invoker: FakeInvoker, callbacks: FakeCallbackSender = FakeCallbackSender(), clock: TestClock,
    configuration: AsyncWorkers.Configuration = fastConfiguration()
) -> AsyncWorkers {
    AsyncWorkers(
        store: store, functions: store, invoker: invoker, callbacks: callbacks, configuration: configuration, logger: quietLogger,
        now: { clock.now() }, random: { _ in 1 }
    )
}

/// A call of `function` accepted at `clock`'s time.
func makeCall(
    _ id: String, function: String = "echo", clock: TestClock, maxAttempts: Int = 5, callbackURL: String? = nil
) -> AsyncCall {
    AsyncCall(
        id: id, function: function,
        request: AsyncRequest(
            method: "POST", path: "/", headers: [HeaderField(name: "Content-Type", value: "text/plain")], body: Data("hi".utf8)),
        callbackURL: callbackURL, maxAttempts: maxAttempts, createdAt: clock.now()
    )
}

/// Workers running in a `ServiceGroup`.
struct RunningWorkers: Sendable {
    let group: ServiceGroup
    let task: Task<Void, any Error>

    /// Triggers graceful shutdown and waits until the workers stopped; returns how long that took.
    /// The group escalates to cancellation after 5 s, so this always ends.
    @discardableResult
    func stop() async -> Duration {
        let start = ContinuousClock.now
        await group.triggerGracefulShutdown()
        _ = try? await task.value
        return ContinuousClock.now - start
    }
}

/// Runs `workers` as a service while `body` runs, and always shuts them down, also when `body` throws.
func withWorkers(_ workers: AsyncWorkers, _ body: (RunningWorkers) async throws -> Void) async throws {
    var configuration = ServiceGroupConfiguration(services: [workers], logger: quietLogger)
    configuration.maximumGracefulShutdownDuration = .seconds(5)
    configuration.maximumCancellationDuration = .seconds(10)
    let group = ServiceGroup(configuration: configuration)
    let running = RunningWorkers(group: group, task: Task { try await group.run() })
    do {
        try await body(running)
    } catch {
        await running.stop()
        throw error
    }
    await running.stop()
}

/// A wait that ran out of time.
struct WaitTimedOut: Error, CustomStringConvertible {
    var what: String
    var description: String { "timed out waiting until \(what)" }
}

/// Polls `condition` every 10 ms until it holds, for at most `timeout`; `step` runs before each
/// new look (to advance a clock, say). Throws ``WaitTimedOut`` when time runs out.
func waitUntil(
    _ what: String, timeout: Duration = .seconds(10), step: () async -> Void = {}, _ condition: () async throws -> Bool
) async throws {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if try await condition() { return }
        await step()
        try await Task.sleep(for: .milliseconds(10))
    }
    if try await condition() { return }
    throw WaitTimedOut(what: what)
}

/// Lets the workers' loops go round a few times (for checks that something did *not* happen).
func settle() async throws {
    try await Task.sleep(for: .milliseconds(200))
}
