import Logging
import SwiftletCore
import SwiftletProviders

/// The instances of one function: starts them to the desired count, routes each call to the
/// ready instance with the fewest calls in flight, replaces instances that exit (with back-off),
/// and rolls to a new spec by starting new instances before draining the old ones.
actor FunctionPool {
    private(set) var spec: FunctionSpec {
        didSet { execTimeout = spec.execTimeout }
    }
    /// The spec's exec timeout, parsed once.
    private var execTimeout: Duration
    private var generation = 0
    private var entries: [Entry] = []
    private var waiters: [Waiter] = []
    private var starting = 0
    private var consecutiveFailures = 0
    private var lastStartError: SwiftletError?
    private var retryScheduled = false
    private var removed = false
    private(set) var invocationCount = 0
    private let submit: @Sendable (@escaping @Sendable () async -> Void) -> Void
    private let provider: any Provider
    private let configuration: Scheduler.Configuration
    private let logger: Logger

    private final class Entry {
        let instance: any FunctionInstance
        let generation: Int
        var inflight = 0
        var draining = false
        init(instance: any FunctionInstance, generation: Int) {
            self.instance = instance
            self.generation = generation
        }
    }

    private struct Waiter {
        let id: Int
        let continuation: CheckedContinuation<InstanceLease, any Error>
    }
    private var nextWaiterID = 0

    init(
        spec: FunctionSpec, provider: any Provider, configuration: Scheduler.Configuration, logger: Logger,
        submit: @escaping @Sendable (@escaping @Sendable () async -> Void) -> Void
    ) {
        self.spec = spec
        self.execTimeout = spec.execTimeout
        self.provider = provider
        self.configuration = configuration
        self.submit = submit
        var logger = logger
        logger[metadataKey: "swiftlet.function"] = "\(spec.name)"
        self.logger = logger
    }

    private var desired: Int { ScalingLabels(spec).min }

    /// Instances that take calls now.
    var availableReplicas: Int { entries.filter { !$0.draining && $0.generation == generation }.count }
    /// Instances wanted.
    var replicas: Int { desired }

    /// Starts instances up to the desired count.
    func reconcile() {
        guard !removed else { return }
        let current = entries.filter { $0.generation == generation && !$0.draining }.count
        let missing = desired - current - starting
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
        let current = entries.filter { $0.generation == generation && !$0.draining }.count
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
                logger.info(
                    "instance ready",
                    metadata: ["swiftlet.instance": "\(instance.id)", "swiftlet.start_ms": "\((clock.now - begin).milliseconds)"]
                )
                await self.started(instance, generation: generation)
                await instance.waitForExit()
                await self.exited(instance)
            } catch {
                let failure = error as? SwiftletError ?? SwiftletError(.unavailable, "cannot start an instance: \(error)")
                if Task.isCancelled {
                    logger.debug("instance start cancelled by shutdown", metadata: ["error": "\(failure.message)"])
                } else {
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
        guard !removed, generation == self.generation else {
            await instance.stop()
            reconcile()
            return
        }
        entries.append(Entry(instance: instance, generation: generation))
        // A rolling update completes once the new generation has all its instances.
        if entries.filter({ $0.generation == generation }).count >= desired {
            for entry in entries where entry.generation != generation && !entry.draining {
                drain(entry)
            }
        }
        serveWaiters()
    }

    private func startFailed(_ error: SwiftletError) {
        starting -= 1
        consecutiveFailures += 1
        lastStartError = error
        if availableReplicas == 0 && starting == 0 {
            let failure = SwiftletError(.unavailable, "function '\(spec.name)' could not start: \(error.message)")
            let pending = waiters
            waiters = []
            for waiter in pending { waiter.continuation.resume(throwing: failure) }
        }
        reconcile()
    }

    private func exited(_ instance: any FunctionInstance) async {
        guard let index = entries.firstIndex(where: { $0.instance === instance }) else { return }
        let entry = entries.remove(at: index)
        if !entry.draining && !removed {
            logger.warning("instance exited; replacing it", metadata: ["swiftlet.instance": "\(instance.id)"])
            consecutiveFailures += 1
            await instance.stop()
            reconcile()
        }
    }

    private func drain(_ entry: Entry) {
        entry.draining = true
        if entry.inflight == 0 {
            stopEntry(entry)
        }
    }

    private func stopEntry(_ entry: Entry) {
        entries.removeAll { $0 === entry }
        let instance = entry.instance
        submit { await instance.stop() }
    }

    /// A lease on the ready instance with the fewest calls in flight, waiting up to `timeout`
    /// for one to become ready.
    func acquire(timeout: Duration) async throws -> InstanceLease {
        if let lease = leaseLeastLoaded() { return lease }
        reconcile()
        if availableReplicas == 0, starting == 0, !retryScheduled, let error = lastStartError {
            throw SwiftletError(.unavailable, "function '\(spec.name)' could not start: \(error.message)")
        }
        let id = nextWaiterID
        nextWaiterID += 1
        let name = spec.name
        submit { [self] in
            try? await Task.sleep(for: timeout)
            await self.expireWaiter(id, message: "no instance of '\(name)' became ready within \(timeout); try again, or check its logs")
        }
        return try await withCheckedThrowingContinuation { continuation in
            waiters.append(Waiter(id: id, continuation: continuation))
        }
    }

    private func expireWaiter(_ id: Int, message: String) {
        guard let index = waiters.firstIndex(where: { $0.id == id }) else { return }
        let waiter = waiters.remove(at: index)
        waiter.continuation.resume(throwing: SwiftletError(.unavailable, message))
    }

    private func serveWaiters() {
        while !waiters.isEmpty, let lease = leaseLeastLoaded() {
            waiters.removeFirst().continuation.resume(returning: lease)
        }
    }

    private func leaseLeastLoaded() -> InstanceLease? {
        let candidates = entries.filter { !$0.draining && !$0.instance.hasExited }
        guard let entry = candidates.min(by: { $0.inflight < $1.inflight }) else { return nil }
        entry.inflight += 1
        invocationCount += 1
        let instance = entry.instance
        return InstanceLease(instance: instance, timeout: execTimeout) { [self] failed in
            self.submit { await self.leaseEnded(instance, failed: failed) }
        }
    }

    private func leaseEnded(_ instance: any FunctionInstance, failed: Bool) {
        guard let entry = entries.first(where: { $0.instance === instance }) else { return }
        entry.inflight -= 1
        if entry.draining && entry.inflight == 0 {
            stopEntry(entry)
        }
    }

    /// Rolls to `newSpec`: new instances start, old ones drain once the new ones are ready.
    func update(_ newSpec: FunctionSpec) {
        spec = newSpec
        generation += 1
        consecutiveFailures = 0
        lastStartError = nil
        reconcile()
    }

    /// Stops every instance and fails waiting calls; the pool takes no more calls.
    func remove() async {
        removed = true
        let pending = waiters
        waiters = []
        for waiter in pending {
            waiter.continuation.resume(throwing: SwiftletError(.notFound, "function '\(spec.name)' was removed"))
        }
        let all = entries.map(\.instance)
        entries = []
        await withTaskGroup(of: Void.self) { group in
            for instance in all {
                group.addTask { await instance.stop() }
            }
        }
    }
}

extension Duration {
    var milliseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1000 + attoseconds / 1_000_000_000_000_000
    }
}
