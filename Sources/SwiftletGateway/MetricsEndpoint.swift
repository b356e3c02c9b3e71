import CoreMetrics
import Hummingbird
import Logging
import NIOCore
import Prometheus
import SwiftletProviders
import SwiftletQueue
import SwiftletScheduler

/// `GET /metrics`: Prometheus text from `registry`, after the gauges that are sampled rather
/// than counted (instances, cgroup memory and CPU, warm pool, async queue) are brought up to date.
///
/// Unauthenticated, as OpenFaaS serves it on its metrics port: it reveals function names and
/// load, never secrets or payloads. Served on the main port and on the metrics port.
public struct MetricsEndpoint: Sendable {
    /// The metric names the gateway itself emits.
    public enum Name {
        /// Duration of every gateway request, by `method`, `route` and `code` (histogram).
        public static let requestSeconds = "swiftlet_http_request_duration_seconds"
        /// Warm sandboxes wanted per runtime, by `runtime`.
        public static let warmPoolSize = "swiftlet_warm_pool_size"
        /// Warm sandboxes by `runtime` and `state` (ready, starting).
        public static let warmPoolSandboxes = "swiftlet_warm_pool_sandboxes"
        /// Instance starts that asked the warm pool, by `runtime` and `result` (hit, miss), since start.
        public static let warmPoolTakes = "swiftlet_warm_pool_takes"
    }

    let registry: PrometheusCollectorRegistry
    let scheduler: Scheduler
    let warmPool: WarmPool?
    let asyncWorkers: AsyncWorkers?
    let factory: PrometheusMetricsFactory

    /// Creates the endpoint over `registry`, whose metrics `scheduler` and `asyncWorkers` emit.
    public init(registry: PrometheusCollectorRegistry, scheduler: Scheduler, warmPool: WarmPool? = nil, asyncWorkers: AsyncWorkers? = nil) {
        self.registry = registry
        self.scheduler = scheduler
        self.warmPool = warmPool
        self.asyncWorkers = asyncWorkers
        self.factory = PrometheusMetricsFactory(registry: registry)
    }

    /// Adds `GET /metrics` to `router`.
    public func addRoutes<Context: RequestContext>(to router: Router<Context>) {
        router.get("/metrics") { _, _ in try await self.response() }
    }

    /// The current metrics as a Prometheus text response.
    func response() async throws -> Response {
        await refresh()
        var buffer: [UInt8] = []
        buffer.reserveCapacity(16 * 1024)
        registry.emit(into: &buffer)
        return Response(
            status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
            body: .init(byteBuffer: ByteBuffer(bytes: buffer))
        )
    }

    /// Samples the gauges that are read rather than counted.
    func refresh() async {
        await scheduler.refreshMetrics()
        await asyncWorkers?.refreshMetrics()
        if let warmPool {
            for status in await warmPool.status() {
                let runtime = ("runtime", status.runtime)
                Gauge(label: Name.warmPoolSize, dimensions: [runtime], factory: factory).record(status.size)
                Gauge(label: Name.warmPoolSandboxes, dimensions: [runtime, ("state", "ready")], factory: factory).record(status.ready)
                Gauge(label: Name.warmPoolSandboxes, dimensions: [runtime, ("state", "starting")], factory: factory).record(status.starting)
                Gauge(label: Name.warmPoolTakes, dimensions: [runtime, ("result", "hit")], factory: factory).record(status.hits)
                Gauge(label: Name.warmPoolTakes, dimensions: [runtime, ("result", "miss")], factory: factory).record(status.misses)
            }
        }
    }
}

/// Builds the application of the metrics port: `GET /metrics` only, on `bindAddress:port`.
public func buildMetricsApplication(
    endpoint: MetricsEndpoint, bindAddress: String, port: Int, logger: Logger,
    onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in }
) -> some ApplicationProtocol {
    let router = Router(context: SwiftletRequestContext.self)
    endpoint.addRoutes(to: router)
    return Application(
        router: router,
        configuration: .init(address: .hostname(bindAddress, port: port), serverName: "swiftlet-metrics"),
        onServerRunning: { channel in await onServerRunning(channel.localAddress?.port ?? port) },
        logger: logger
    )
}
