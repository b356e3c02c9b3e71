import Logging
import NIOConcurrencyHelpers
import ServiceLifecycle
import SwiftletCore
import SwiftletProviders

/// Keeps every deployed function's instances running and hands out instances to calls.
///
/// A `Service`: its `run()` owns the task group in which instances start, are watched and are
/// stopped; on graceful shutdown it stops every instance it started.
public final class Scheduler: Service, Sendable {
    /// Scheduler settings.
    public struct Configuration: Sendable {
        /// How long an instance may take to answer its first health check.
        public var readinessTimeout: Duration
        /// How long a call waits for a ready, free instance before 503.
        public var acquireTimeout: Duration
        /// How often the autoscaler measures each function's load (its window).
        public var scaleInterval: Duration
        /// How long the load must stay lower before the autoscaler removes instances.
        public var scaleDownDelay: Duration
        /// How often every instance is health-checked.
        public var healthInterval: Duration
        /// How long a health check may take.
        public var healthTimeout: Duration
        /// Failed health checks in a row (while idle) after which an instance is replaced.
        public var healthFailuresBeforeReplace: Int

        /// Creates a configuration.
        public init(
            readinessTimeout: Duration = .seconds(30), acquireTimeout: Duration = .seconds(30), scaleInterval: Duration = .seconds(1),
            scaleDownDelay: Duration = .seconds(30), healthInterval: Duration = .seconds(5), healthTimeout: Duration = .seconds(2),
            healthFailuresBeforeReplace: Int = 3
        ) {
            self.readinessTimeout = readinessTimeout
            self.acquireTimeout = acquireTimeout
            self.scaleInterval = scaleInterval
            self.scaleDownDelay = scaleDownDelay
            self.healthInterval = healthInterval
            self.healthTimeout = healthTimeout
            self.healthFailuresBeforeReplace = healthFailuresBeforeReplace
        }
    }

    private let provider: any Provider
    private let configuration: Configuration
    private let logger: Logger
    /// The metrics of calls and instances; `invocationCount` in a status comes from them.
    public let metrics: FunctionMetrics
    private let pools = NIOLockedValueBox<[String: FunctionPool]>([:])
    private let work: AsyncStream<@Sendable () async -> Void>
    private let workContinuation: AsyncStream<@Sendable () async -> Void>.Continuation

    /// Creates a scheduler over `provider`, emitting its metrics through `metrics`.
    public init(provider: any Provider, configuration: Configuration = Configuration(), logger: Logger, metrics: FunctionMetrics = FunctionMetrics()) {
        self.provider = provider
        self.metrics = metrics
        self.configuration = configuration
        self.logger = logger
        (work, workContinuation) = AsyncStream.makeStream(of: (@Sendable () async -> Void).self)
    }

    public func run() async throws {
        await withDiscardingTaskGroup { group in
            await withGracefulShutdownHandler {
                for await job in self.work {
                    group.addTask { await job() }
                }
            } onGracefulShutdown: {
                self.workContinuation.finish()
            }
            // Shutting down: stop every instance this scheduler started, then cancel what
            // still waits (timers, starts in progress, which stop their instance themselves).
            await self.removeAll()
            group.cancelAll()
        }
        logger.info("scheduler stopped; all instances removed")
    }

    private func removeAll() async {
        let all = pools.withLockedValue { pools in
            defer { pools = [:] }
            return Array(pools.values)
        }
        await withTaskGroup(of: Void.self) { group in
            for pool in all {
                group.addTask { await pool.remove() }
            }
        }
    }

    private func submit(_ job: @escaping @Sendable () async -> Void) {
        workContinuation.yield(job)
    }

    /// Starts serving `spec` (a new function, or one restored at start-up).
    public func deploy(_ spec: FunctionSpec) async {
        let pool = FunctionPool(
            spec: spec, provider: provider, configuration: configuration, logger: logger, metrics: metrics,
            submit: { [weak self] job in self?.submit(job) }
        )
        let previous = pools.withLockedValue { pools in
            defer { pools[spec.name] = pool }
            return pools[spec.name]
        }
        if let previous { await previous.remove() }
        await pool.activate()
    }

    /// Rolls `spec`'s function to its new version.
    public func update(_ spec: FunctionSpec) async {
        guard let pool = pools.withLockedValue({ $0[spec.name] }) else {
            await deploy(spec)
            return
        }
        await pool.update(spec)
    }

    /// Replaces every instance of `spec`'s function with new ones (rolling, as for an update):
    /// used when something the instances read at start, like a secret, changed.
    public func restart(_ spec: FunctionSpec) async {
        await update(spec)
    }

    /// Stops serving the function `name` and removes its instances.
    public func remove(_ name: String) async {
        let pool = pools.withLockedValue { $0.removeValue(forKey: name) }
        await pool?.remove()
    }

    /// Sets the number of instances of `name` (the scale API); the autoscaler may change it
    /// again as the load changes. Throws `.notFound`, or `.invalidInput` outside min…max.
    public func scale(_ name: String, to replicas: Int) async throws {
        guard let pool = pools.withLockedValue({ $0[name] }) else {
            throw SwiftletError(.notFound, "function '\(name)' not found")
        }
        try await pool.scale(to: replicas)
    }

    /// A lease on a ready instance of `name`, waiting for one to start if needed.
    public func acquire(_ name: String) async throws -> InstanceLease {
        guard let pool = pools.withLockedValue({ $0[name] }) else {
            throw SwiftletError(.notFound, "function '\(name)' not found; deploy it first (`swiftlet deploy \(name) …`)")
        }
        // The common case, a free slot on a ready instance, takes no actor hop.
        if let lease = pool.tryLease() { return lease }
        return try await pool.acquire(timeout: configuration.acquireTimeout)
    }

    /// The spec of `name` as deployed here, or nil when it is not deployed (no store read).
    public func deployedSpec(_ name: String) async -> FunctionSpec? {
        guard let pool = pools.withLockedValue({ $0[name] }) else { return nil }
        return await pool.spec
    }

    /// Desired and ready instances and calls served, for the function status.
    public func status(_ name: String) async -> (replicas: Int, available: Int, invocations: Int) {
        let invocations = metrics.invocations(of: name)
        guard let pool = pools.withLockedValue({ $0[name] }) else { return (0, 0, invocations) }
        return (await pool.replicas, await pool.availableReplicas, invocations)
    }

    /// Where the debuggers of `name`'s instances listen on the host, by debugger name (debug
    /// mode; empty otherwise).
    public func debugEndpoints(_ name: String) async -> [String: String] {
        guard let pool = pools.withLockedValue({ $0[name] }) else { return [:] }
        return await pool.debugEndpoints()
    }

    /// Brings the gauges up to date: `gateway_service_count`, instances by state, and each
    /// running instance's memory and CPU (read from its cgroup). Called when metrics are scraped;
    /// the gauges of removed functions and stopped instances disappear.
    public func refreshMetrics() async {
        let all = pools.withLockedValue { Array($0) }
        typealias Key = FunctionMetrics.GaugeKey
        typealias Name = FunctionMetrics.Name
        var values: [Key: Double] = [:]
        for (name, pool) in all {
            let snapshot = await pool.snapshot()
            let function = FunctionMetrics.label(name)
            values[Key(Name.serviceCount, [("function_name", function)])] = Double(snapshot.desired)
            for (state, count) in snapshot.states {
                values[Key(Name.instances, [("function_name", function), ("state", state)])] = Double(count)
            }
            for (instance, usage) in snapshot.usage {
                let dimensions = [("function_name", function), ("instance", instance)]
                values[Key(Name.instanceMemory, dimensions)] = Double(usage.memoryBytes)
                values[Key(Name.instanceCPU, dimensions)] = usage.cpuSeconds
            }
        }
        metrics.setGauges(values, owned: [Name.serviceCount, Name.instances, Name.instanceMemory, Name.instanceCPU])
    }
}
