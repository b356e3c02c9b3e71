import CoreMetrics
import SwiftletCore
import SwiftletScheduler
import Synchronization

/// The async queue's metrics, emitted through swift-metrics with the factory given to
/// ``AsyncWorkers``: finished attempts by outcome, callback deliveries by outcome, and the
/// number of calls in each status (refreshed periodically and on ``AsyncWorkers/refreshMetrics()``).
struct AsyncMetrics: Sendable {
    /// The metric names of the async queue.
    enum Name {
        /// Attempts of async calls, by `function_name` and `outcome` (succeeded, failed, retried, dead).
        static let calls = "swiftlet_async_calls_total"
        /// Callback deliveries, by `outcome` (delivered, retried, failed).
        static let callbacks = "swiftlet_async_callbacks_total"
        /// Async calls stored, by `status` (queued, running, succeeded, failed, dead).
        static let queue = "swiftlet_async_calls"
    }

    let factory: any MetricsFactory
    private let gauges: [AsyncCallStatus: Gauge]

    init(factory: any MetricsFactory) {
        self.factory = factory
        gauges = Dictionary(
            uniqueKeysWithValues: AsyncCallStatus.allCases.map { ($0, Gauge(label: Name.queue, dimensions: [("status", $0.rawValue)], factory: factory)) }
        )
    }

    /// An attempt of a call to `function` ended with `outcome`.
    func finished(_ function: String, outcome: AsyncOutcome) {
        let name: String
        switch outcome {
        case .succeeded: name = "succeeded"
        case .failed: name = "failed"
        case .retry: name = "retried"
        case .dead: name = "dead"
        }
        Counter(label: Name.calls, dimensions: [("function_name", FunctionMetrics.label(function)), ("outcome", name)], factory: factory).increment()
    }

    /// A callback delivery ended with `outcome`.
    func delivered(_ outcome: CallbackOutcome) {
        let name: String
        switch outcome {
        case .delivered: name = "delivered"
        case .retry: name = "retried"
        case .failed: name = "failed"
        }
        Counter(label: Name.callbacks, dimensions: [("outcome", name)], factory: factory).increment()
    }

    /// Sets the gauges of calls by status.
    func record(counts: [AsyncCallStatus: Int]) {
        for (status, gauge) in gauges {
            gauge.record(counts[status, default: 0])
        }
    }
}
