import CoreMetrics
import SwiftletCore
import Synchronization

/// The per-function metrics of calls and instances, emitted through swift-metrics with the
/// factory given at creation (the binary passes a Prometheus factory; tests pass their own).
///
/// It is also where `invocationCount` of a function status comes from: the count of finished
/// calls is kept next to `gateway_function_invocation_total`, updated in the same call, so the
/// status always equals that counter summed over its `code` label.
///
/// ```swift
/// let metrics = FunctionMetrics(factory: PrometheusMetricsFactory(registry: registry))
/// metrics.callFinished("hello", code: 200, duration: .milliseconds(3))
/// ```
public final class FunctionMetrics: Sendable {
    /// The metric names Swiftlet emits from the scheduler and the gateway's proxy.
    public enum Name {
        /// Calls finished, by `function_name` and `code` (OpenFaaS).
        public static let invocationTotal = "gateway_function_invocation_total"
        /// Duration of finished calls, by `function_name` and `code` (OpenFaaS, histogram).
        public static let functionSeconds = "gateway_functions_seconds"
        /// Calls started, by `function_name` (OpenFaaS).
        public static let invocationStarted = "gateway_function_invocation_started"
        /// Desired instances, by `function_name` (OpenFaaS).
        public static let serviceCount = "gateway_service_count"
        /// Instances started (each one is a cold start), by `function_name`.
        public static let coldStarts = "swiftlet_cold_starts_total"
        /// Time from asking for an instance to its readiness, by `function_name` (histogram).
        public static let coldStartSeconds = "swiftlet_cold_start_seconds"
        /// Instances that failed to start, by `function_name`.
        public static let startFailures = "swiftlet_instance_start_failures_total"
        /// Instances whose process exited while they should have been serving, by `function_name`.
        public static let instanceExits = "swiftlet_instance_exits_total"
        /// Instances by `function_name` and `state` (starting, ready, unhealthy, draining).
        public static let instances = "swiftlet_instances"
        /// Memory in use by an instance's cgroup, by `function_name` and `instance`.
        public static let instanceMemory = "swiftlet_instance_memory_bytes"
        /// CPU time used by an instance's cgroup so far (use `rate()`), by `function_name` and `instance`.
        public static let instanceCPU = "swiftlet_instance_cpu_seconds"
    }

    /// The states of ``Name/instances``.
    public static let instanceStates = ["starting", "ready", "unhealthy", "draining"]

    private struct CallInstruments: Sendable {
        let total: Counter
        let seconds: Timer
    }

    private struct State {
        var calls: [String: [Int: CallInstruments]] = [:]
        var started: [String: Counter] = [:]
        var finished: [String: Int] = [:]
        var gauges: [[String]: Gauge] = [:]
    }

    private let factory: any MetricsFactory
    private let state = Mutex(State())

    /// Creates metrics emitted through `factory` (by default the global `MetricsSystem`'s).
    public init(factory: any MetricsFactory = MetricsSystem.factory) {
        self.factory = factory
    }

    /// The `function_name` label of `name`, as OpenFaaS writes it: `name.namespace`.
    public static func label(_ name: String) -> String {
        name.contains(".") ? name : name + "." + FunctionName.defaultNamespace
    }

    // MARK: Calls

    /// A call to `function` started (`gateway_function_invocation_started`).
    public func callStarted(_ function: String) {
        let counter = state.withLock { state in
            if let counter = state.started[function] { return counter }
            let counter = Counter(label: Name.invocationStarted, dimensions: [("function_name", Self.label(function))], factory: factory)
            state.started[function] = counter
            return counter
        }
        counter.increment()
    }

    /// A call to `function` finished with HTTP `code` after `duration`.
    public func callFinished(_ function: String, code: Int, duration: Duration) {
        let instruments = state.withLock { state in
            state.finished[function, default: 0] += 1
            if let instruments = state.calls[function]?[code] { return instruments }
            let dimensions = [("function_name", Self.label(function)), ("code", String(code))]
            let instruments = CallInstruments(
                total: Counter(label: Name.invocationTotal, dimensions: dimensions, factory: factory),
                seconds: Timer(label: Name.functionSeconds, dimensions: dimensions, factory: factory)
            )
            state.calls[function, default: [:]][code] = instruments
            return instruments
        }
        instruments.total.increment()
        instruments.seconds.recordNanoseconds(duration.nanoseconds)
    }

    /// Calls to `function` finished since this process started (all codes).
    public func invocations(of function: String) -> Int {
        state.withLock { $0.finished[function, default: 0] }
    }

    // MARK: Instances

    /// An instance of `function` became ready `duration` after it was asked for.
    public func coldStart(_ function: String, duration: Duration) {
        let dimensions = [("function_name", Self.label(function))]
        Counter(label: Name.coldStarts, dimensions: dimensions, factory: factory).increment()
        Timer(label: Name.coldStartSeconds, dimensions: dimensions, factory: factory).recordNanoseconds(duration.nanoseconds)
    }

    /// An instance of `function` failed to start.
    public func startFailed(_ function: String) {
        Counter(label: Name.startFailures, dimensions: [("function_name", Self.label(function))], factory: factory).increment()
    }

    /// An instance of `function` exited unexpectedly.
    public func instanceExited(_ function: String) {
        Counter(label: Name.instanceExits, dimensions: [("function_name", Self.label(function))], factory: factory).increment()
    }

    // MARK: Gauges

    /// Sets every gauge in `values` and removes the gauges named in `owned` that were set
    /// earlier but are absent now (instances and functions gone).
    func setGauges(_ values: [GaugeKey: Double], owned labels: Set<String>) {
        let stale: [Gauge] = state.withLock { state in
            var stale: [Gauge] = []
            for (key, gauge) in state.gauges where labels.contains(key[0]) && values[GaugeKey(key)] == nil {
                stale.append(gauge)
                state.gauges[key] = nil
            }
            for (key, value) in values {
                let gauge = state.gauges[key.parts] ?? Gauge(label: key.label, dimensions: key.dimensions, factory: factory)
                state.gauges[key.parts] = gauge
                gauge.record(value)
            }
            return stale
        }
        for gauge in stale { gauge.destroy() }
    }

    /// A gauge's name and dimensions, flattened so it can key a dictionary.
    struct GaugeKey: Hashable {
        let parts: [String]
        init(_ label: String, _ dimensions: [(String, String)]) {
            parts = [label] + dimensions.flatMap { [$0.0, $0.1] }
        }
        init(_ parts: [String]) { self.parts = parts }
        var label: String { parts[0] }
        var dimensions: [(String, String)] {
            stride(from: 1, to: parts.count - 1, by: 2).map { (parts[$0], parts[$0 + 1]) }
        }
    }
}

extension Duration {
    /// The duration in whole nanoseconds.
    var nanoseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1_000_000_000 + attoseconds / 1_000_000_000
    }
}
