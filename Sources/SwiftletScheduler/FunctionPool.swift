import Logging
import SwiftletCore
import SwiftletProviders

/// The instances of one function.
///
/// - Routes each call to the ready, healthy instance with the fewest calls in flight, below the
///   function's `max_inflight`; a call that finds none waits (up to `com.swiftlet.max-queue`
///   calls, then 429) until one is free or has started.
/// - Keeps `desired` instances: set by the scale API and by the autoscaler, which scales up at
///   once and down only after the load stayed lower for `scaleDownDelay`, between min and max;
///   an idle function with `com.openfaas.scale.zero=true` drops to zero and wakes on a call.
/// - Replaces instances that exit (with back-off) or fail health checks; rolls to a new spec by
///   starting new instances before draining the old ones.
actor FunctionPool {
    private(set) var spec: FunctionSpec
    private var scaling: ScalingLabels
    private var generation = 0
    /// Membership, calls in flight and load, shared with the calls' fast path.
    nonisolated let routing: Routing
    private var waiters: [Waiter] = []
    private var starting = 0
    private var consecutiveFailures = 0
    private var lastStartError: SwiftletError?
    private var retryScheduled = false
    private var removed = false
    /// Instances wanted.
    private(set) var desired: Int
    private let submit: @Sendable (@escaping @Sendable () async -> Void) -> Void
    private let provider: any Provider
    private let configuration: Scheduler.Configuration
    private let logger: Logger
    private let metrics: FunctionMetrics
    private let clock = ContinuousClock()

    // Autoscaler state.
    private var lastTick: ContinuousClock.Instant
    private var lastHealthCheck: ContinuousClock.Instant
    /// Calls started per tick over the last second at least (for `rps`).
    private var callHistory: [(at: ContinuousClock.Instant, calls: Int)] = []
    /// Recent recommendations, newest last, kept for `scaleDownDelay`.
    private var recommendations: [(at: ContinuousClock.Instant, replicas: Int)] = []

    private typealias Entry = Routing.Entry

    private struct Waiter {
        let id: Int
        let continuation: CheckedContinuation<InstanceLease, any Error>
    }
    private var nextWaiterID = 0

    init(
        spec: FunctionSpec, provider: any Provider, configuration: Scheduler.Configuration, logger: Logger,
        metrics: FunctionMetrics = FunctionMetrics(), submit: @escaping @Sendable (@escaping @Sendable () async -> Void) -> Void
    ) {
        self.spec = spec
        self.scaling = ScalingLabels(spec)
        self.routing = Routing(maxInflight: Self.maxInflight(spec), execTimeout: spec.execTimeout)
        self.desired = spec.isDebug ? 1 : ScalingLabels(spec).min
        self.provider = provider
        self.configuration = configuration
        self.submit = submit
        self.metrics = metrics
        var logger = logger
        logger[metadataKey: "swiftlet.function"] = "\(spec.name)"
        self.logger = logger
        let now = ContinuousClock.now
        lastTick = now
        lastHealthCheck = now
    }

    private static func maxInflight(_ spec: FunctionSpec) -> Int? {
        spec.envVars["max_inflight"].flatMap { Int($0.trimmingCharacters(in: .whitespaces)) }.flatMap { $0 > 0 ? $0 : nil }
    }

    /// Healthy instances that take calls now.
    var availableReplicas: Int { routing.available }
    /// Calls served.
    var invocationCount: Int { routing.invocationCount }
    /// Instances wanted.
    var replicas: Int { desired }

    /// Instances by state (``FunctionMetrics/instanceStates``) and the running ones' resource
    /// usage, for the metrics.
    func snapshot() -> (desired: Int, states: [String: Int], usage: [(instance: String, usage: InstanceUsage)]) {
        var states = ["starting": starting, "ready": 0, "unhealthy": 0, "draining": 0]
        var usage: [(instance: String, usage: InstanceUsage)] = []
        for entry in routing.all {
            let state = routing.isDraining(entry) ? "draining" : (entry.healthy && !entry.instance.hasExited ? "ready" : "unhealthy")
            states[state, default: 0] += 1
            if let used = entry.instance.resourceUsage() { usage.append((entry.instance.id, used)) }
        }
        return (desired, states, usage)
    }

    /// Where the debuggers of the current instances are forwarded on the host (debug mode).
    func debugEndpoints() -> [String: String] {
        var endpoints: [String: String] = [:]
        for entry in routing.all where !routing.isDraining(entry) && entry.generation == generation {
            endpoints.merge(entry.instance.debugEndpoints) { first, _ in first }
        }
        return endpoints
    }

    // MARK: Starting and stopping instances

    /// Starts the periodic autoscaling and health checks, and the first instances.
    func activate() {
        let interval = configuration.scaleInterval
        submit { [self] in
            while !Task.isCancelled, await self.tick() {
                try? await Task.sleep(for: interval)
            }
        }
        reconcile()
    }

    /// Starts or drains instances until the current generation has `desired` of them.
    func reconcile() {
        guard !removed else { return }
        let all = routing.all.filter { !routing.isDraining($0) }
        let current = all.filter { $0.generation == generation }
        // A rolling update completes once the new generation has all its instances.
        if current.count >= desired {
            for entry in all where entry.generation != generation {
                drain(entry)
            }
        }
        if current.count > desired {
            // Scale down: drain the least busy instances first.
            for entry in current.sorted(by: { routing.inflight($0) < routing.inflight($1) }).prefix(current.count - desired) {
                drain(entry)
            }
            return
        }
        let missing = desired - current.count - starting
        guard missing > 0, !retryScheduled else { return }
        if consecutiveFailures > 0 {
            // Back off after failures: 0.25 s, 0.5 s, 1 s … up to 30 s.
            let delay = Duration.milliseconds(min(30_000, 250 << min(consecutiveFailures - 1, 7)))
            retryScheduled = true
            submit { [self] in
                try? await Task.sleep(for: delay)
                await self.retryDue()
            }
            return
        }
        for _ in 0..<missing {
            startOne()
        }
    }

    private func retryDue() {
        retryScheduled = false
        guard !removed else { return }
        let current = routing.all.filter { $0.generation == generation && !routing.isDraining($0) }.count
        for _ in 0..<max(0, desired - current - starting) {
            startOne()
        }
    }

    private func startOne() {
        starting += 1
        let spec = self.spec
        let generation = self.generation
        let provider = self.provider
        let timeout = configuration.readinessTimeout
        let logger = self.logger
        let metrics = self.metrics
        submit { [self] in
            let clock = ContinuousClock()
            let begin = clock.now
            do {
                let instance = try await provider.startInstance(of: spec)
                do {
                    try await instance.waitUntilReady(timeout: timeout)
                } catch {
                    await instance.stop()
                    throw error
                }
                metrics.coldStart(spec.name, duration: clock.now - begin)
                logger.info(
                    "instance ready",
                    metadata: ["swiftlet.instance": "\(instance.id)", "swiftlet.start_ms": "\((clock.now - begin).inMilliseconds)"]
                )
                await self.started(instance, generation: generation)
                await instance.waitForExit()
                await self.exited(instance)
            } catch {
                let failure = error as? SwiftletError ?? SwiftletError(.unavailable, "cannot start an instance: \(error)")
                if Task.isCancelled {
                    logger.debug("instance start cancelled by shutdown", metadata: ["error": "\(failure.message)"])
                } else {
                    metrics.startFailed(spec.name)
                    logger.error("instance failed to start", metadata: ["error": "\(failure.message)"])
                }
                await self.startFailed(failure)
            }
        }
    }

    private func started(_ instance: any FunctionInstance, generation: Int) async {
        starting -= 1
        consecutiveFailures = 0
        lastStartError = nil
        let current = routing.all.filter { $0.generation == self.generation && !routing.isDraining($0) }.count
        guard !removed, generation == self.generation, current < desired else {
            // Not wanted any more (removed, rolled, or scaled down while it started).
            await instance.stop()
            reconcile()
            return
        }
        routing.add(Entry(instance: instance, generation: generation))
        reconcile()
        serveWaiters()
    }

    private func startFailed(_ error: SwiftletError) {
        starting -= 1
        consecutiveFailures += 1
        lastStartError = error
        if availableReplicas == 0 && starting == 0 {
            let failure = SwiftletError(.unavailable, "function '\(spec.name)' could not start: \(error.message)")
            failWaiters(failure)
        }
        reconcile()
    }

    private func exited(_ instance: any FunctionInstance) async {
        guard let entry = routing.all.first(where: { $0.instance === instance }) else { return }
        routing.remove(entry)
        if !routing.isDraining(entry) && !removed {
            logger.warning("instance exited; replacing it", metadata: ["swiftlet.instance": "\(instance.id)"])
            metrics.instanceExited(spec.name)
            consecutiveFailures += 1
            await instance.stop()
            reconcile()
        }
    }

    private func drain(_ entry: Entry) {
        if routing.drain(entry) {
            stopEntry(entry)
        }
    }

    private func stopEntry(_ entry: Entry) {
        routing.remove(entry)
        let instance = entry.instance
        submit { await instance.stop() }
    }

    // MARK: Calls

    /// A lease on the ready instance with the fewest calls in flight, waiting up to `timeout`
    /// for one to become ready or free.
    func acquire(timeout: Duration) async throws -> InstanceLease {
        guard !removed else { throw SwiftletError(.notFound, "function '\(spec.name)' was removed") }
        if let lease = tryLease() { return lease }
        guard waiters.count < scaling.maxQueue else {
            throw SwiftletError(
                .tooManyRequests,
                "function '\(spec.name)' is at capacity: \(waiters.count) calls are waiting already (\(ScalingLabels.Key.maxQueue)=\(scaling.maxQueue)); retry later"
            )
        }
        if desired == 0 {
            // Scaled to zero: this call wakes the function.
            logger.info("waking function from zero")
            desired = 1
            recommendations = []
        }
        reconcile()
        if availableReplicas == 0, starting == 0, !retryScheduled, let error = lastStartError {
            throw SwiftletError(.unavailable, "function '\(spec.name)' could not start: \(error.message)")
        }
        // A slot may have come free since the fast path looked; otherwise wait in line.
        if let entry = routing.leaseOrWait() { return makeLease(entry) }
        let id = nextWaiterID
        nextWaiterID += 1
        let name = spec.name
        submit { [self] in
            try? await Task.sleep(for: timeout)
            await self.expireWaiter(
                id, message: "no instance of '\(name)' was ready and free within \(timeout); try again, or check its logs (`swiftlet logs \(name)`)"
            )
        }
        return try await withCheckedThrowingContinuation { continuation in
            waiters.append(Waiter(id: id, continuation: continuation))
        }
    }

    /// A lease without waiting, or nil when no instance has a free slot or calls wait already.
    /// Needs no actor hop: the scheduler tries it before calling ``acquire(timeout:)``.
    nonisolated func tryLease() -> InstanceLease? {
        routing.lease().map(makeLease)
    }

    private nonisolated func makeLease(_ entry: Entry) -> InstanceLease {
        let routing = self.routing
        let timeout = routing.execTimeout
        return InstanceLease(instance: entry.instance, timeout: timeout) { [self] failed in
            if routing.release(entry) || failed {
                self.submit { await self.leaseEnded(entry, failed: failed) }
            }
        }
    }

    private func expireWaiter(_ id: Int, message: String) {
        guard let index = waiters.firstIndex(where: { $0.id == id }) else { return }
        routing.stopWaiting(1)
        let waiter = waiters.remove(at: index)
        waiter.continuation.resume(throwing: SwiftletError(.unavailable, message))
    }

    private func failWaiters(_ error: SwiftletError) {
        routing.stopWaiting(waiters.count)
        let pending = waiters
        waiters = []
        for waiter in pending { waiter.continuation.resume(throwing: error) }
    }

    private func serveWaiters() {
        while !waiters.isEmpty, let entry = routing.lease(queued: true) {
            waiters.removeFirst().continuation.resume(returning: makeLease(entry))
        }
    }

    private func leaseEnded(_ entry: Entry, failed: Bool) {
        if routing.isDraining(entry) && routing.inflight(entry) == 0 && routing.all.contains(where: { $0 === entry }) {
            stopEntry(entry)
        } else if failed {
            // A connection failure: stop routing here until a health check says otherwise.
            check(entry)
        }
        serveWaiters()
    }

    // MARK: Scaling

    /// Sets the number of instances (the scale API). Throws `.invalidInput` outside the
    /// function's range.
    func scale(to replicas: Int) throws(SwiftletError) {
        if spec.isDebug {
            guard replicas == 1 else {
                throw SwiftletError(
                    .invalidInput, "function '\(spec.name)' is in debug mode, which runs exactly one instance; deploy it without debug to scale it"
                )
            }
            return
        }
        let lowest = scaling.lowestReplicas
        guard replicas >= lowest, replicas <= scaling.max else {
            let hint = scaling.zero ? "" : " (0 needs the label \(ScalingLabels.Key.zero)=true)"
            throw SwiftletError(
                .invalidInput, "function '\(spec.name)' scales from \(lowest) to \(scaling.max) instances; \(replicas) is outside that range\(hint)"
            )
        }
        logger.info("scaled by request", metadata: ["swiftlet.replicas": "\(replicas)", "swiftlet.previous": "\(desired)"])
        desired = replicas
        recommendations = []
        if replicas == 0 {
            consecutiveFailures = 0
        }
        reconcile()
    }

    /// One autoscaler and health-check round. Returns false once the pool is removed.
    private func tick() -> Bool {
        guard !removed else { return false }
        let now = clock.now
        let measured = routing.takeLoad()
        let elapsed = max((now - lastTick).inSeconds, 0.001)
        let load: Double
        switch scaling.kind {
        case .capacity: load = measured.area / elapsed
        case .rps:
            // Over a window of at least a second: per short tick, a few calls look like a burst.
            callHistory.append((now, measured.calls))
            let window = max(Duration.seconds(1), configuration.scaleInterval)
            callHistory.removeAll { now - $0.at >= window }
            let span = max(elapsed, min(window.inSeconds, (now - (callHistory.first?.at ?? now)).inSeconds + elapsed))
            load = Double(callHistory.reduce(0) { $0 + $1.calls }) / span
        }
        lastTick = now
        autoscale(load: load, busy: measured.busy, lastActivity: measured.lastActivity, now: now)
        if now - lastHealthCheck >= configuration.healthInterval {
            lastHealthCheck = now
            for entry in routing.all where !routing.isDraining(entry) { check(entry) }
        }
        return true
    }

    private func autoscale(load: Double, busy: Int, lastActivity: ContinuousClock.Instant, now: ContinuousClock.Instant) {
        // Debug mode holds exactly one instance: no autoscaling, no scale to zero.
        guard !spec.isDebug else { return }
        if scaling.zero, desired > 0, busy == 0, now - lastActivity >= scaling.zeroDuration {
            logger.info("idle; scaling to zero", metadata: ["swiftlet.idle": "\(scaling.zeroDuration)"])
            desired = 0
            recommendations = []
            reconcile()
            return
        }
        guard desired > 0 else { return }
        var wanted = Int((load / scaling.target).rounded(.up))
        wanted = min(scaling.max, max(scaling.min, wanted))
        recommendations.append((now, wanted))
        recommendations.removeAll { now - $0.at > configuration.scaleDownDelay }
        if wanted > desired {
            logger.info("scaling up", metadata: ["swiftlet.load": "\(load)", "swiftlet.replicas": "\(wanted)"])
            desired = wanted
            reconcile()
        } else if wanted < desired, let oldest = recommendations.first, now - oldest.at >= configuration.scaleDownDelay - configuration.scaleInterval {
            // Down only to the highest recommendation of the whole delay window.
            let floor = recommendations.map(\.replicas).max() ?? desired
            if floor < desired {
                logger.info("scaling down", metadata: ["swiftlet.load": "\(load)", "swiftlet.replicas": "\(floor)"])
                desired = floor
                reconcile()
            }
        }
    }

    /// Health-checks `entry`: a failure takes it out of routing at once; repeated failures
    /// while it serves nothing replace it.
    private func check(_ entry: Entry) {
        guard !entry.checking, !routing.isDraining(entry) else { return }
        entry.checking = true
        let instance = entry.instance
        let timeout = configuration.healthTimeout
        submit { [self] in
            let healthy = await instance.checkHealth(timeout: timeout)
            await self.checked(instance, healthy: healthy)
        }
    }

    private func checked(_ instance: any FunctionInstance, healthy: Bool) {
        guard let entry = routing.all.first(where: { $0.instance === instance }) else { return }
        entry.checking = false
        if healthy {
            if !entry.healthy {
                logger.info("instance healthy again", metadata: ["swiftlet.instance": "\(instance.id)"])
            }
            routing.setHealthy(entry, true)
            entry.healthFailures = 0
            serveWaiters()
            return
        }
        if spec.isDebug {
            // A process paused in a debugger cannot answer: keep routing to it and never replace
            // it (an exit is still noticed and replaced).
            if entry.healthFailures == 0 {
                logger.info(
                    "debug instance does not answer its health check (paused in a debugger?); keeping it",
                    metadata: ["swiftlet.instance": "\(instance.id)"]
                )
            }
            entry.healthFailures += 1
            return
        }
        entry.healthFailures += 1
        if entry.healthy {
            logger.warning("instance failed its health check; no new calls go to it", metadata: ["swiftlet.instance": "\(instance.id)"])
        }
        routing.setHealthy(entry, false)
        if entry.healthFailures >= configuration.healthFailuresBeforeReplace, routing.inflight(entry) == 0, !instance.hasExited {
            logger.warning("instance keeps failing its health check; replacing it", metadata: ["swiftlet.instance": "\(instance.id)"])
            drain(entry)
            reconcile()
        }
    }

    // MARK: Updates

    /// Rolls to `newSpec`: new instances start, old ones drain once the new ones are ready.
    func update(_ newSpec: FunctionSpec) {
        spec = newSpec
        scaling = ScalingLabels(newSpec)
        routing.setMaxInflight(Self.maxInflight(newSpec))
        routing.setExecTimeout(newSpec.execTimeout)
        desired = newSpec.isDebug ? 1 : min(scaling.max, max(desired == 0 ? 0 : scaling.min, desired))
        recommendations = []
        generation += 1
        consecutiveFailures = 0
        lastStartError = nil
        reconcile()
    }

    /// Stops every instance and fails waiting calls; the pool takes no more calls.
    func remove() async {
        removed = true
        failWaiters(SwiftletError(.notFound, "function '\(spec.name)' was removed"))
        let all = routing.removeAll().map(\.instance)
        await withTaskGroup(of: Void.self) { group in
            for instance in all {
                group.addTask { await instance.stop() }
            }
        }
    }
}
