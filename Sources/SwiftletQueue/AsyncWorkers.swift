import CoreMetrics
import Foundation
import Logging
import ServiceLifecycle
import SwiftletCore
import SwiftletStore
import Synchronization

/// The workers of the durable async queue: they lease due calls from the store, run them
/// through an ``AsyncInvoker``, record the outcome (retrying with back-off, or dead-lettering),
/// deliver callbacks, renew the leases of running calls and purge old results.
///
/// A `Service`: on graceful shutdown it stops leasing, lets running calls finish within
/// `drainTimeout`, and puts the rest back in the queue without counting their attempt.
/// After a crash, calls that were running fall due again when their lease ends.
public final class AsyncWorkers: Service, Sendable {
    /// Worker settings.
    public struct Configuration: Sendable {
        /// Calls running at once across all functions (protects the host).
        public var workers: Int
        /// How long a lease lasts; running calls renew theirs every third of it.
        public var leaseDuration: Duration
        /// Back-off between attempts of a call.
        public var retry: RetryPolicy
        /// Callback deliveries at once.
        public var callbackWorkers: Int
        /// Delivery attempts per callback.
        public var callbackMaxAttempts: Int
        /// Back-off between callback delivery attempts.
        public var callbackRetry: RetryPolicy
        /// How long results of finished calls are kept.
        public var retention: Duration
        /// How often old results are purged.
        public var purgeInterval: Duration
        /// The longest wait between looks at the queue when nothing signals new work.
        public var pollInterval: Duration
        /// How long graceful shutdown waits for running calls.
        public var drainTimeout: Duration
        /// How often the gauge of calls by status is refreshed from the store.
        public var metricsInterval: Duration

        /// Creates a configuration.
        public init(
            workers: Int = 32, leaseDuration: Duration = .seconds(30), retry: RetryPolicy = RetryPolicy(),
            callbackWorkers: Int = 16, callbackMaxAttempts: Int = 10,
            callbackRetry: RetryPolicy = RetryPolicy(initial: .seconds(1), maximum: .seconds(600)),
            retention: Duration = .seconds(24 * 3600), purgeInterval: Duration = .seconds(60), pollInterval: Duration = .seconds(1),
            drainTimeout: Duration = .seconds(10), metricsInterval: Duration = .seconds(5)
        ) {
            self.workers = max(1, workers)
            self.leaseDuration = max(leaseDuration, .milliseconds(300))
            self.retry = retry
            self.callbackWorkers = max(1, callbackWorkers)
            self.callbackMaxAttempts = max(1, callbackMaxAttempts)
            self.callbackRetry = callbackRetry
            self.retention = retention
            self.purgeInterval = purgeInterval
            self.pollInterval = pollInterval
            self.drainTimeout = drainTimeout
            self.metricsInterval = metricsInterval
        }
    }

    /// What the workers hold right now.
    struct State {
        /// Running calls by id, with their function.
        var running: [String: String] = [:]
        /// Running calls per function.
        var perFunction: [String: Int] = [:]
        /// Callbacks being delivered.
        var delivering = 0
        /// Set when graceful shutdown began: no more calls are leased.
        var stopping = false
        /// Set when running calls have drained: no more callbacks are leased.
        var drained = false
    }

    let store: any AsyncCallStore
    let functions: any FunctionStore
    let invoker: any AsyncInvoker
    let callbacks: any CallbackSender
    let configuration: Configuration
    let logger: Logger
    let metrics: AsyncMetrics
    let now: @Sendable () -> Date
    let random: @Sendable (ClosedRange<Double>) -> Double
    /// This process's lease token: leases of a process that died are never renewed.
    let token = UUID().uuidString
    let state = Mutex(State())
    let callWake = WakeSignal()
    let callbackWake = WakeSignal()

    /// Creates the workers, emitting their metrics through `metrics`. `now` and `random` are
    /// injected so tests control time and jitter.
    public init(
        store: any AsyncCallStore, functions: any FunctionStore, invoker: any AsyncInvoker, callbacks: any CallbackSender,
        configuration: Configuration = Configuration(), logger: Logger, metrics: any MetricsFactory = MetricsSystem.factory,
        now: @escaping @Sendable () -> Date = { Date() }, random: @escaping @Sendable (ClosedRange<Double>) -> Double = { Double.random(in: $0) }
    ) {
        self.store = store
        self.functions = functions
        self.invoker = invoker
        self.callbacks = callbacks
        self.configuration = configuration
        self.logger = logger
        self.metrics = AsyncMetrics(factory: metrics)
        self.now = now
        self.random = random
    }

    /// Tells the workers a call was queued (or time moved), so they look at once.
    public func notify() {
        callWake.signal()
        callbackWake.signal()
    }

    /// The number of calls running right now.
    public var runningCount: Int { state.withLock { $0.running.count } }

    public func run() async throws {
        logger.info("async workers started", metadata: ["swiftlet.workers": "\(configuration.workers)"])
        await withDiscardingTaskGroup { group in
            group.addTask { await self.renewLoop() }
            group.addTask { await self.purgeLoop() }
            group.addTask { await self.callbackLoop() }
            group.addTask { await self.metricsLoop() }
            await withGracefulShutdownHandler {
                await self.dispatchLoop(group: &group)
            } onGracefulShutdown: {
                self.state.withLock { $0.stopping = true }
                self.callWake.signal()
                self.callbackWake.signal()
            }
            await self.drain()
            self.state.withLock { $0.drained = true }
            self.callbackWake.signal()
            group.cancelAll()
        }
        logger.info("async workers stopped")
    }

    // MARK: Calls

    private var isStopping: Bool { state.withLock { $0.stopping } || Task.isCancelled }

    private func dispatchLoop(group: inout DiscardingTaskGroup) async {
        var concurrency: [String: Int] = [:]
        var round = 0
        while !isStopping {
            var blocked = false
            do {
                let time = now()
                let due = try await store.functionsWithDueCalls(now: time)
                // Start with a different function each round, so under the global bound no
                // function waits behind the others for ever.
                let ordered = due.sorted()
                round &+= 1
                let start = ordered.isEmpty ? 0 : round % ordered.count
                for function in ordered[start...] + ordered[..<start] where !isStopping {
                    if concurrency[function] == nil {
                        concurrency[function] = try await functions.function(named: function).map { AsyncLabels($0).concurrency }
                            ?? AsyncLabels.defaultConcurrency
                    }
                    let free = state.withLock { state in
                        min(configuration.workers - state.running.count, concurrency[function]! - state.perFunction[function, default: 0])
                    }
                    guard free > 0 else {
                        blocked = true
                        continue
                    }
                    let leased = try await store.leaseCalls(
                        function: function, limit: free, now: time, leaseUntil: time.addingTimeInterval(configuration.leaseDuration.inSeconds),
                        token: token
                    )
                    for call in leased {
                        state.withLock { state in
                            state.running[call.id] = call.function
                            state.perFunction[call.function, default: 0] += 1
                        }
                        group.addTask { await self.execute(call) }
                    }
                    if leased.count < free { callbackWake.signal() }  // dead-lettered expired leases may need callbacks
                }
                if due.isEmpty || blocked {
                    concurrency.removeAll(keepingCapacity: true)
                }
                let wait: Duration
                if blocked || due.isEmpty {
                    let next = due.isEmpty ? try await store.nextDueDate() : nil
                    wait = next.map { min(max(.milliseconds(Int64($0.timeIntervalSince(now()) * 1000)), .milliseconds(1)), configuration.pollInterval) }
                        ?? configuration.pollInterval
                } else {
                    continue
                }
                await callWake.wait(timeout: wait)
            } catch {
                if Task.isCancelled { break }
                logger.error("async queue: cannot read the store; retrying in 1s", metadata: ["error": "\(error)"])
                await callWake.wait(timeout: .seconds(1))
            }
        }
    }

    private func execute(_ call: AsyncCall) async {
        var logger = self.logger
        logger[metadataKey: "swiftlet.function"] = "\(call.function)"
        logger[metadataKey: "swiftlet.call_id"] = "\(call.id)"
        defer {
            state.withLock { state in
                state.running[call.id] = nil
                state.perFunction[call.function, default: 1] -= 1
                if state.perFunction[call.function] == 0 { state.perFunction[call.function] = nil }
            }
            callWake.signal()
        }
        let attempt = await invoker.invoke(call)
        // Cancelled by a drain that timed out: the call was put back in the queue.
        guard !Task.isCancelled else { return }
        let outcome = AsyncRetryRules.outcome(of: attempt, call: call, now: now(), policy: configuration.retry, random: random)
        for delay in [0, 100, 1000] {
            if delay > 0 { try? await Task.sleep(for: .milliseconds(delay)) }
            do {
                let recorded = try await store.finishCall(id: call.id, token: token, attempt: call.attempts, outcome: outcome, now: now())
                if !recorded { logger.warning("async call's lease was lost before it finished; another attempt will run it") }
                break
            } catch {
                logger.error("cannot record an async call's outcome; its lease will expire and it will run again", metadata: ["error": "\(error)"])
            }
        }
        metrics.finished(call.function, outcome: outcome)
        switch outcome {
        case .succeeded: logger.debug("async call succeeded", metadata: ["swiftlet.attempt": "\(call.attempts)"])
        case .failed(_, let error): logger.info("async call failed", metadata: ["error": "\(error ?? "")"])
        case .retry(let at, let error, _):
            logger.info("async call will be retried", metadata: ["error": "\(error)", "swiftlet.retry_at": "\(at)", "swiftlet.attempt": "\(call.attempts)"])
        case .dead(_, let error): logger.warning("async call is dead", metadata: ["error": "\(error)"])
        }
        if call.callbackURL != nil, !outcome.isRetry { callbackWake.signal() }
    }

    /// Waits for running calls up to the drain timeout, then puts the rest back in the queue.
    private func drain() async {
        let deadline = ContinuousClock.now + configuration.drainTimeout
        while runningCount > 0, ContinuousClock.now < deadline {
            await callWake.wait(timeout: min(.milliseconds(100), deadline - ContinuousClock.now))
        }
        let left = state.withLock { Array($0.running.keys) }
        guard !left.isEmpty else { return }
        logger.warning("async calls still running at shutdown go back to the queue", metadata: ["swiftlet.calls": "\(left.count)"])
        do {
            try await store.releaseCalls(ids: left, token: token, now: now())
        } catch {
            logger.error("cannot put running calls back; they run again when their lease ends", metadata: ["error": "\(error)"])
        }
    }

    private func renewLoop() async {
        let period = configuration.leaseDuration / 3
        while !Task.isCancelled {
            try? await Task.sleep(for: period)
            let ids = state.withLock { Array($0.running.keys) }
            guard !ids.isEmpty, !Task.isCancelled else { continue }
            do {
                try await store.renewLeases(token: token, ids: ids, until: now().addingTimeInterval(configuration.leaseDuration.inSeconds))
            } catch {
                logger.error("cannot renew async call leases", metadata: ["error": "\(error)"])
            }
        }
    }

    private func purgeLoop() async {
        while !Task.isCancelled {
            do {
                let removed = try await store.purgeCalls(finishedBefore: now().addingTimeInterval(-configuration.retention.inSeconds))
                if removed > 0 { logger.info("purged old async call results", metadata: ["swiftlet.calls": "\(removed)"]) }
            } catch {
                logger.error("cannot purge old async call results", metadata: ["error": "\(error)"])
            }
            try? await Task.sleep(for: configuration.purgeInterval)
        }
    }

    // MARK: Metrics

    /// Sets the gauge of calls by status (`swiftlet_async_calls{status}`) from the store.
    public func refreshMetrics() async {
        do {
            metrics.record(counts: try await store.callCounts(function: nil))
        } catch {
            logger.debug("cannot count async calls for the metrics", metadata: ["error": "\(error)"])
        }
    }

    private func metricsLoop() async {
        while !Task.isCancelled {
            await refreshMetrics()
            try? await Task.sleep(for: configuration.metricsInterval)
        }
    }

    // MARK: Callbacks

    private func callbackLoop() async {
        await withDiscardingTaskGroup { group in
            while !Task.isCancelled {
                let stopping = state.withLock { $0.drained }
                do {
                    let free = state.withLock { configuration.callbackWorkers - $0.delivering }
                    var leasedAll = false
                    if free > 0, !stopping {
                        let time = now()
                        let leased = try await store.leaseCallbacks(
                            limit: free, now: time, leaseUntil: time.addingTimeInterval(configuration.leaseDuration.inSeconds),
                            token: token
                        )
                        state.withLock { $0.delivering += leased.count }
                        for call in leased {
                            group.addTask { await self.deliver(call) }
                        }
                        leasedAll = leased.count == free
                    }
                    if leasedAll { continue }
                    var wait = configuration.pollInterval
                    // With every deliverer busy, a finishing delivery wakes the loop; otherwise
                    // sleep until the next callback falls due.
                    if !stopping, free > 0, let next = try await store.nextCallbackDate() {
                        wait = min(max(.milliseconds(Int64(next.timeIntervalSince(now()) * 1000)), .milliseconds(1)), wait)
                    }
                    await callbackWake.wait(timeout: wait)
                } catch {
                    if Task.isCancelled { break }
                    logger.error("async queue: cannot read pending callbacks; retrying in 1s", metadata: ["error": "\(error)"])
                    await callbackWake.wait(timeout: .seconds(1))
                }
            }
        }
    }

    private func deliver(_ call: AsyncCall) async {
        defer {
            state.withLock { $0.delivering -= 1 }
            callbackWake.signal()
        }
        var logger = self.logger
        logger[metadataKey: "swiftlet.call_id"] = "\(call.id)"
        let outcome: CallbackOutcome
        do {
            let status = try await callbacks.deliver(call)
            outcome = (200..<300).contains(status) ? .delivered : failure("the receiver answered \(status)", call: call)
        } catch {
            guard !Task.isCancelled else { return }
            outcome = failure("cannot reach the callback URL: \(error)", call: call)
        }
        metrics.delivered(outcome)
        if case .failed(let error) = outcome { logger.warning("callback delivery failed for good", metadata: ["error": "\(error)"]) }
        do {
            try await store.finishCallback(id: call.id, token: token, attempt: call.callback.attempts, outcome: outcome, now: now())
        } catch {
            logger.error("cannot record a callback delivery; it will be sent again", metadata: ["error": "\(error)"])
        }
    }

    private func failure(_ message: String, call: AsyncCall) -> CallbackOutcome {
        guard call.callback.attempts < configuration.callbackMaxAttempts else {
            return .failed(error: "\(message); gave up after \(call.callback.attempts) attempts")
        }
        let delay = configuration.callbackRetry.delay(afterAttempt: call.callback.attempts, random: random)
        return .retry(at: now().addingTimeInterval(delay.inSeconds), error: message)
    }
}

extension AsyncOutcome {
    /// Whether the call goes back to the queue.
    var isRetry: Bool {
        if case .retry = self { return true }
        return false
    }
}
