import AsyncHTTPClient
import Foundation
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import Prometheus
import ServiceLifecycle
import SwiftletCore
import SwiftletDocker
import SwiftletGateway
import SwiftletLogs
import SwiftletProviders
import SwiftletQueue
import SwiftletSandbox
import SwiftletScheduler
import SwiftletStore
import Testing

/// Which provider a test platform runs its instances with.
enum ProviderKind: String, CaseIterable, Sendable, CustomStringConvertible {
    /// runc sandboxes on this machine.
    case native
    /// Containers of the test Docker engine (scripts/test-dockerd.sh).
    case docker

    var description: String { rawValue }
}

/// A whole Swiftlet (SQLite store, the native provider with real runc or the Docker provider with
/// the test engine, scheduler, gateway on a free loopback port) built with the same code the
/// binary runs, for end-to-end tests.
final class TestPlatform: Sendable {
    let dataDirectory: String
    let port: Int
    let credentials: BasicCredentials
    let logs: RecordingLogSink
    let store: SQLiteStore
    let provider: any Provider
    let kind: ProviderKind
    let workers: AsyncWorkers
    /// The registry `/metrics` serves.
    let registry: PrometheusCollectorRegistry
    private let callbackClient: HTTPClient
    private let group: ServiceGroup
    private let runTask: Task<Void, any Error>

    var baseURL: String { "http://127.0.0.1:\(port)" }
    var host: SandboxHost { SandboxHost(dataDirectory: dataDirectory) }

    private init(
        dataDirectory: String, port: Int, credentials: BasicCredentials, logs: RecordingLogSink, store: SQLiteStore,
        provider: any Provider, kind: ProviderKind, workers: AsyncWorkers, registry: PrometheusCollectorRegistry, callbackClient: HTTPClient, group: ServiceGroup,
        runTask: Task<Void, any Error>
    ) {
        self.workers = workers
        self.registry = registry
        self.callbackClient = callbackClient
        self.dataDirectory = dataDirectory
        self.port = port
        self.credentials = credentials
        self.logs = logs
        self.store = store
        self.provider = provider
        self.kind = kind
        self.group = group
        self.runTask = runTask
    }

    /// Starts a platform on `dataDirectory` (a new temporary one when nil).
    static func start(
        provider kind: ProviderKind = .native, dataDirectory: String? = nil, maxBodyBytes: Int = 32 * 1024 * 1024, auth: Bool = true, warmPool: WarmPool.Settings = .disabled,
        scheduling: Scheduler.Configuration = TestPlatform.scheduling, async: AsyncWorkers.Configuration = TestPlatform.async,
        native: (inout NativeProvider.Configuration) -> Void = { _ in }
    ) async throws -> TestPlatform {
        try Requirements.check()
        if kind == .docker { _ = try await Requirements.dockerEndpoint() }
        let directory = dataDirectory ?? Self.makeTemporaryDirectory()
        // A start that fails (a provider that refuses its settings) leaves no directory behind.
        var started = false
        defer { if !started && dataDirectory == nil { try? FileManager.default.removeItem(atPath: directory) } }
        var logger = Logger(label: "swiftlet-test")
        logger.logLevel = ProcessInfo.processInfo.environment["SWIFTLET_TEST_LOG_LEVEL"].flatMap(Logger.Level.init(rawValue:)) ?? .warning
        let logs = RecordingLogSink()
        let logStore = FunctionLogStore(configuration: .init(directory: directory + "/logs"), logger: logger)
        let instanceLogs = CombinedLogSink([logs, logStore])
        let store = try SQLiteStore(path: directory + "/swiftlet.db", logger: logger)
        let images = StoreImageCatalog(dataDirectory: directory, logger: logger)
        let provider: any Provider
        var pool: WarmPool?
        switch kind {
        case .native:
            var configuration = NativeProvider.Configuration(dataDirectory: directory)
            native(&configuration)
            let native = try NativeProvider(
                configuration: configuration, codeSource: store, secrets: store, images: images, warmPool: warmPool, sink: instanceLogs,
                logger: logger
            )
            pool = native.warmPool
            provider = native
        case .docker:
            provider = try DockerProvider(
                configuration: .init(dataDirectory: directory, endpoint: try await Requirements.dockerEndpoint()), codeSource: store, secrets: store,
                sink: instanceLogs, knownFunctions: { try await store.allFunctions() }, logger: logger
            )
        }
        try await provider.start()
        let registry = PrometheusCollectorRegistry()
        let metrics = PrometheusMetricsFactory(registry: registry)
        let scheduler = Scheduler(provider: provider, configuration: scheduling, logger: logger, metrics: FunctionMetrics(factory: metrics))
        for spec in try await store.allFunctions() {
            await scheduler.deploy(spec)
        }
        let credentials = BasicCredentials(user: "admin", password: "test-\(UInt32.random(in: 0...UInt32.max))")
        let portBox = PortBox()
        let callbackClient = HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: HTTPCallbackSender.clientConfiguration)
        let workers = AsyncWorkers(
            store: store, functions: store, invoker: SchedulerInvoker(scheduler: scheduler, maxResultBytes: maxBodyBytes),
            callbacks: HTTPCallbackSender(client: callbackClient, timeout: .seconds(5)), configuration: async, logger: logger,
            metrics: metrics
        )
        let app = buildApplication(
            configuration: GatewayConfiguration(
                bindAddress: "127.0.0.1", port: 0, credentials: auth ? credentials : nil, maxBodyBytes: maxBodyBytes,
                uploadDirectory: directory + "/uploads"
            ),
            store: store, scheduler: scheduler, provider: provider, images: images, warmPool: pool, asyncWorkers: workers,
            metrics: registry, logs: logStore, logger: logger, onServerRunning: { port in portBox.set(port) }
        )
        let services: [ServiceGroupConfiguration.ServiceConfiguration] =
            (pool.map { [.init(service: $0)] } ?? []) + [.init(service: logStore), .init(service: scheduler), .init(service: workers), .init(service: app)]
        let group = ServiceGroup(configuration: .init(services: services, logger: logger))
        let runTask = Task { try await group.run() }
        let port = try await portBox.wait()
        started = true
        return TestPlatform(
            dataDirectory: directory, port: port, credentials: credentials, logs: logs, store: store, provider: provider, kind: kind,
            workers: workers, registry: registry, callbackClient: callbackClient, group: group, runTask: runTask
        )
    }

    /// The scheduler settings of the tests: the product's, with shorter waits.
    static let scheduling = Scheduler.Configuration(readinessTimeout: .seconds(20), acquireTimeout: .seconds(20))

    /// The async workers' settings of the tests: the product's, with short back-offs and leases.
    static let async = AsyncWorkers.Configuration(
        leaseDuration: .seconds(3), retry: RetryPolicy(initial: .milliseconds(50), maximum: .milliseconds(400)),
        callbackRetry: RetryPolicy(initial: .milliseconds(50), maximum: .milliseconds(400)), pollInterval: .milliseconds(200),
        drainTimeout: .seconds(5)
    )

    /// Stops gracefully (removing every sandbox) without deleting the data directory.
    func stop() async {
        await group.triggerGracefulShutdown()
        _ = try? await runTask.value
        try? await callbackClient.shutdown()
        await provider.shutdown()
    }

    /// Runs `body` with a fresh platform and always stops it and removes its data directory.
    static func with<T>(
        provider kind: ProviderKind = .native, maxBodyBytes: Int = 32 * 1024 * 1024, auth: Bool = true, warmPool: WarmPool.Settings = .disabled,
        scheduling: Scheduler.Configuration = TestPlatform.scheduling, async: AsyncWorkers.Configuration = TestPlatform.async,
        native: (inout NativeProvider.Configuration) -> Void = { _ in },
        _ body: (TestPlatform) async throws -> T
    ) async throws -> T {
        let platform = try await start(
            provider: kind, maxBodyBytes: maxBodyBytes, auth: auth, warmPool: warmPool, scheduling: scheduling, async: async, native: native
        )
        do {
            let result = try await body(platform)
            await platform.stop()
            platform.removeDataDirectory()
            return result
        } catch {
            await platform.stop()
            platform.removeDataDirectory()
            throw error
        }
    }

    func removeDataDirectory() {
        try? FileManager.default.removeItem(atPath: dataDirectory)
    }

    static func makeTemporaryDirectory() -> String {
        let path = NSTemporaryDirectory() + "swiftlet-test-\(UUID().uuidString.prefix(8))"
        try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    // MARK: - HTTP

    struct Answer: Sendable {
        var status: Int
        var headers: HTTPHeaders
        var body: ByteBuffer
        var text: String { String(buffer: body) }
        func json() throws -> [String: Any] {
            try #require(try JSONSerialization.jsonObject(with: Data(body.readableBytesView)) as? [String: Any])
        }
    }

    /// Sends a request to the gateway; `auth` adds the admin credentials.
    func request(
        _ method: HTTPMethod, _ path: String, body: ByteBuffer? = nil, headers: [(String, String)] = [], auth: Bool = false,
        timeout: TimeAmount = .seconds(60)
    ) async throws -> Answer {
        var request = HTTPClientRequest(url: baseURL + path)
        request.method = method
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        if auth {
            let token = Data("\(credentials.user):\(credentials.password)".utf8).base64EncodedString()
            request.headers.replaceOrAdd(name: "Authorization", value: "Basic \(token)")
        }
        if let body { request.body = .bytes(body) }
        let response = try await HTTPClient.shared.execute(request, timeout: timeout)
        let collected = try await response.body.collect(upTo: 64 * 1024 * 1024)
        return Answer(status: Int(response.status.code), headers: response.headers, body: collected)
    }

    /// Deploys (POST) a code function; returns the answer.
    @discardableResult
    func deploy(_ name: String, runtime: String, code: Data, extra: [String: Any] = [:], method: HTTPMethod = .POST) async throws -> Answer {
        var object: [String: Any] = ["service": name, "runtime": runtime, "code": code.base64EncodedString()]
        for (key, value) in extra { object[key] = value }
        let json = try JSONSerialization.data(withJSONObject: object)
        return try await request(method, "/system/functions", body: ByteBuffer(bytes: json), headers: [("Content-Type", "application/json")], auth: true)
    }

    /// Deploys and expects 202 (or 200 for PUT).
    func deployOK(_ name: String, runtime: String, source: String, extra: [String: Any] = [:]) async throws {
        let answer = try await deploy(name, runtime: runtime, code: Data(source.utf8), extra: extra)
        #expect(answer.status == 202, "deploy of \(name) answered \(answer.status): \(answer.text)")
    }

    /// Calls a function.
    func call(_ name: String, path: String = "", method: HTTPMethod = .GET, body: ByteBuffer? = nil, headers: [(String, String)] = [], timeout: TimeAmount = .seconds(60)) async throws -> Answer {
        try await request(method, "/function/\(name)\(path)", body: body, headers: headers, timeout: timeout)
    }

    /// The ids of the containers of this platform, runc's (standard tier) and runsc's (hardened).
    func containers() async throws -> [String] {
        try await host.runtime.list() + host.hardenedRuntime.list()
    }
}

/// Collects every line instances print.
final class RecordingLogSink: InstanceLogSink {
    private let lines = NIOLockedValueBox<[String]>([])

    func line(function: String, instance: String, stream: LogStream, text: String) {
        lines.withLockedValue { $0.append("\(function) \(stream.rawValue): \(text)") }
    }

    var all: [String] { lines.withLockedValue { $0 } }
}

private final class PortBox: Sendable {
    private let state = NIOLockedValueBox<(port: Int?, waiters: [CheckedContinuation<Int, Never>])>((nil, []))

    func set(_ port: Int) {
        let waiters = state.withLockedValue { state in
            state.port = port
            defer { state.waiters = [] }
            return state.waiters
        }
        for waiter in waiters { waiter.resume(returning: port) }
    }

    func wait() async throws -> Int {
        await withCheckedContinuation { continuation in
            let port = state.withLockedValue { state -> Int? in
                if let port = state.port { return port }
                state.waiters.append(continuation)
                return nil
            }
            if let port { continuation.resume(returning: port) }
        }
    }
}

/// What the end-to-end tests need from the host; the test script installs it.
enum Requirements {
    static func check() throws {
        guard getuid() == 0 else {
            throw SwiftletError(.internal, "end-to-end tests need root (they create runc sandboxes); run scripts/test.sh as root")
        }
        for tool in ["/usr/bin/runc", "/usr/bin/python3", "/usr/bin/node"] where !FileManager.default.isExecutableFile(atPath: tool) {
            throw SwiftletError(.internal, "end-to-end tests need \(tool); scripts/test.sh installs it with apt-get")
        }
    }

    /// The test Docker engine's socket (scripts/test-dockerd.sh).
    static let dockerSocket = "/run/swiftlet-test-docker/docker.sock"

    /// The test Docker engine, checked to answer: the Docker provider's tests never use the
    /// system's engine.
    static func dockerEndpoint() async throws -> DockerEndpoint {
        let endpoint = try DockerEndpoint(dockerHost: "unix://" + dockerSocket)
        let engine = DockerEngine(endpoint: endpoint, client: HTTPClient.shared)
        do {
            try await engine.ping()
        } catch {
            throw SwiftletError(
                .unavailable, "the Docker provider's tests need the test engine at \(endpoint): run `scripts/test-dockerd.sh start` (scripts/test.sh does it)"
            )
        }
        return endpoint
    }
}

/// Polls `condition` until it holds or `timeout` passes.
func eventually(timeout: Duration = .seconds(15), _ condition: () async throws -> Bool) async throws -> Bool {
    let clock = ContinuousClock()
    let deadline = clock.now + timeout
    while clock.now < deadline {
        if try await condition() { return true }
        try await Task.sleep(for: .milliseconds(50))
    }
    return try await condition()
}
