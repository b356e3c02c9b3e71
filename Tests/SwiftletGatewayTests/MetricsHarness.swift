import Foundation
import HTTPTypes
import HummingbirdTesting
import Logging
import NIOCore
import Prometheus
import SwiftletCore
import SwiftletGateway
import SwiftletProviders
import SwiftletQueue
import SwiftletScheduler
import SwiftletStore
import SwiftletTestSupport
import Testing

/// A whole gateway (memory store, fake provider, scheduler, async workers, a warm pool that
/// never fills) writing to its own Prometheus registry, as `swiftlet up` wires it. Several can
/// run in one process: nothing is bootstrapped globally.
struct MetricsHarness: Sendable {
    static let credentials = BasicCredentials(user: "admin", password: "pw-\(UUID().uuidString)")
    static let auth: HTTPFields = [
        .authorization: "Basic " + Data("\(credentials.user):\(credentials.password)".utf8).base64EncodedString(),
        .contentType: "application/json",
    ]

    let client: any TestClientProtocol
    let registry: PrometheusCollectorRegistry
    let provider: FakeProvider

    /// Runs `body` against a fresh application.
    static func with(_ body: @escaping @Sendable (MetricsHarness) async throws -> Void) async throws {
        var logger = Logger(label: "metrics-test")
        logger.logLevel = .error
        let registry = PrometheusCollectorRegistry()
        let factory = PrometheusMetricsFactory(registry: registry)
        let store = MemoryStore()
        let provider = FakeProvider()
        let scheduler = Scheduler(
            provider: provider, configuration: ScalingTests.fast, logger: logger, metrics: FunctionMetrics(factory: factory)
        )
        let workers = AsyncWorkers(
            store: store, functions: store, invoker: SchedulerInvoker(scheduler: scheduler, maxResultBytes: 1 << 20), callbacks: NoCallbacks(),
            configuration: .init(pollInterval: .milliseconds(50), metricsInterval: .milliseconds(100)), logger: logger, metrics: factory
        )
        let warmPool = WarmPool(settings: .default, logger: logger) { _ in throw SwiftletError(.unsupported, "no sandboxes in unit tests") }
        let schedulerTask = Task { try await scheduler.run() }
        let workersTask = Task { try await workers.run() }
        defer {
            schedulerTask.cancel()
            workersTask.cancel()
        }
        let app = buildApplication(
            configuration: GatewayConfiguration(port: 0, credentials: credentials), store: store, scheduler: scheduler, provider: provider,
            warmPool: warmPool, asyncWorkers: workers, metrics: registry, logger: logger
        )
        try await app.test(.ahc(.http)) { client in
            try await body(MetricsHarness(client: client, registry: registry, provider: provider))
        }
        schedulerTask.cancel()
        workersTask.cancel()
        _ = try? await schedulerTask.value
        _ = try? await workersTask.value
    }

    /// Deploys a function with one instance kept running.
    func deploy(_ name: String) async throws {
        let json: [String: Any] = [
            "service": name, "runtime": "python3", "code": Data("def handle(e, c): pass\n".utf8).base64EncodedString(),
            "labels": ["com.openfaas.scale.min": "1"],
        ]
        let response = try await client.execute(
            uri: "/system/functions", method: .post, headers: Self.auth, body: ByteBuffer(bytes: try JSONSerialization.data(withJSONObject: json))
        )
        #expect(response.status == .accepted)
    }

    /// Calls `/function/{path}` and returns the status.
    @discardableResult
    func call(_ path: String) async throws -> HTTPResponse.Status {
        try await client.execute(uri: "/function/" + path, method: .get).status
    }

    /// Scrapes `/metrics` without credentials.
    func scrape() async throws -> PrometheusText {
        let response = try await client.execute(uri: "/metrics", method: .get)
        #expect(response.status == .ok)
        #expect(response.headers[.contentType]?.hasPrefix("text/plain") == true)
        return PrometheusText(String(buffer: response.body))
    }

    /// Scrapes until `condition` holds (up to 5 s), returning the last scrape.
    func scrape(until condition: (PrometheusText) -> Bool) async throws -> PrometheusText {
        let deadline = ContinuousClock.now + .seconds(5)
        var text = try await scrape()
        while !condition(text), ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(50))
            text = try await scrape()
        }
        return text
    }

    /// A function's status as `GET /system/function/{name}` gives it.
    func status(_ name: String) async throws -> [String: Any] {
        let response = try await client.execute(uri: "/system/function/" + name, method: .get, headers: Self.auth)
        return try #require(try JSONSerialization.jsonObject(with: Data(response.body.readableBytesView)) as? [String: Any])
    }

    /// Runs sync calls (three 200s, one 502 from a crash, one to an unknown function) and one
    /// async call, and waits until the async call is counted.
    func exercise() async throws {
        try await deploy("hello")
        for _ in 0..<3 { #expect(try await call("hello") == .ok) }
        #expect(try await call("hello/crash") == .badGateway)
        #expect(try await call("nobody-here") == .notFound)
        let accepted = try await client.execute(
            uri: "/async-function/hello", method: .post, headers: [HTTPField.Name("X-Callback-Url")!: "http://127.0.0.1:9/done"], body: ByteBuffer(string: "hi")
        )
        #expect(accepted.status == .accepted)
        _ = try await scrape { $0.sum("swiftlet_async_calls_total", ["outcome": "succeeded"]) >= 1 }
    }
}

/// Accepts every callback.
struct NoCallbacks: CallbackSender {
    func deliver(_ call: AsyncCall) async throws -> Int { 200 }
}
