import ArgumentParser
import AsyncHTTPClient
import Foundation
import Logging
import Prometheus
import ServiceLifecycle
import SwiftletCore
import SwiftletDocker
import SwiftletGateway
import SwiftletLogs
import SwiftletProviders
import SwiftletQueue
import SwiftletScheduler
import SwiftletStore

/// `swiftlet up`: runs the platform in the foreground until SIGTERM or SIGINT.
struct UpCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "up",
        abstract: "Run the platform (gateway, scheduler, provider) in the foreground."
    )

    @Option(name: .long, help: "The data directory (default: $SWIFTLET_DATA_DIR or /var/lib/swiftlet).")
    var dataDir: String?

    @Option(name: .long, help: "The port to listen on (0 picks a free one).")
    var port: Int = 8080

    @Option(name: .long, help: "The address to listen on.")
    var bind: String = "127.0.0.1"

    @Flag(name: .long, help: "Turn basic auth off (for local play only).")
    var noAuth: Bool = false

    @Option(name: .long, help: "What runs instances: native (runc sandboxes on this machine) or docker (containers of the Docker engine at $DOCKER_HOST, default /var/run/docker.sock).")
    var provider = "native"

    @Option(name: .long, help: "The OCI runtime binary of the standard isolation tier.")
    var runc: String = "/usr/bin/runc"

    @Option(name: .long, help: "gVisor's OCI runtime, for the hardened isolation tier (native provider).")
    var runsc: String = "/usr/bin/runsc"

    @Option(name: .customLong("default-isolation"), help: "The isolation tier of functions that choose none: standard (runc) or hardened (gVisor).")
    var defaultIsolation: String = "standard"

    @Flag(name: .customLong("no-user-namespaces"), help: "Run standard-tier code functions without a user namespace of their own (native provider).")
    var noUserNamespaces = false

    @Option(name: .long, help: "The largest function call body, in bytes.")
    var maxBodyBytes: Int = 32 * 1024 * 1024

    @Option(name: .customLong("insecure-registry"), help: "A registry (host[:port]) to pull from over plain HTTP when deploying (repeatable).")
    var insecureRegistries: [String] = []

    @Option(
        name: .customLong("warm-pool"),
        help: "Warm sandboxes per runtime as RUNTIME=N (repeatable; default python3=1 and node=1; N=0 turns a runtime's pool off)."
    )
    var warmPool: [String] = []

    @Flag(name: .customLong("no-warm-pool"), help: "Start every instance in a new sandbox (no warm pool).")
    var noWarmPool: Bool = false

    @Option(name: .customLong("async-workers"), help: "Async calls run at once across all functions (each function also has its own cap).")
    var asyncWorkers: Int = 32

    @Option(name: .customLong("async-lease"), help: "How long a running async call's lease lasts (renewed while it runs; after a crash, its call runs again once it ends), e.g. 30s.")
    var asyncLease: String = "30s"

    @Option(name: .customLong("async-retention"), help: "How long results of finished async calls are kept, e.g. 24h.")
    var asyncRetention: String = "24h"

    @Option(name: .customLong("metrics-port"), help: "The port of the separate, unauthenticated Prometheus /metrics listener (0 picks a free one).")
    var metricsPort: Int = 8082

    @Flag(name: .customLong("no-metrics-port"), help: "Serve /metrics only on the main port.")
    var noMetricsPort: Bool = false

    @Option(name: .customLong("rate-limit"), help: "Requests per second per client address, as N or N/BURST (off unless set); over it: 429 with Retry-After.")
    var rateLimit: String?

    @Option(name: .customLong("function-rate-limit"), help: "Calls per second per function, as N or N/BURST (off unless set).")
    var functionRateLimit: String?

    @Option(name: .customLong("cors-origin"), help: "A browser origin allowed cross-origin, like https://app.example.com, or * (repeatable; CORS is off unless set).")
    var corsOrigins: [String] = []

    @Option(name: .customLong("max-connections"), help: "Open gateway connections in all.")
    var maxConnections = 4096

    @Option(name: .customLong("max-connections-per-client"), help: "Open gateway connections per client address; more are closed at once.")
    var maxConnectionsPerClient = 512

    @Option(name: .customLong("header-timeout"), help: "How long a request head may take to arrive (also the keep-alive idle time), e.g. 30s.")
    var headerTimeout = "30s"

    @Option(name: .customLong("body-timeout"), help: "How long a request body may take to arrive after its head, e.g. 120s.")
    var bodyTimeout = "120s"

    @Option(name: .long, help: "Log level: trace, debug, info, notice, warning, error, critical.")
    var logLevel: String = "info"

    @Option(name: .customLong("log-max-bytes"), help: "The size at which a function's instance log file rotates, in bytes.")
    var logMaxBytes: Int = 10 * 1024 * 1024

    @Option(name: .customLong("log-files"), help: "How many instance log files (current and rotated) are kept per function.")
    var logFiles: Int = 3

    func validate() throws {
        guard (0...65535).contains(port) else { throw ValidationError("--port must be between 0 and 65535") }
        guard (0...65535).contains(metricsPort) else { throw ValidationError("--metrics-port must be between 0 and 65535") }
        guard noMetricsPort || metricsPort == 0 || metricsPort != port else {
            throw ValidationError("--metrics-port must differ from --port (or use --no-metrics-port)")
        }
        guard ["native", "docker"].contains(provider) else { throw ValidationError("--provider must be native or docker") }
        if provider == "docker" { _ = try dockerEndpoint() }
        _ = try isolationTier()
        guard maxBodyBytes > 0 else { throw ValidationError("--max-body-bytes must be positive") }
        guard logMaxBytes >= 1024 else { throw ValidationError("--log-max-bytes must be at least 1024") }
        guard (1...100).contains(logFiles) else { throw ValidationError("--log-files must be between 1 and 100") }
        guard Logger.Level(rawValue: logLevel) != nil else { throw ValidationError("--log-level must be one of trace, debug, info, notice, warning, error, critical") }
        _ = try warmPoolSettings()
        _ = try asyncConfiguration()
        _ = try gatewayLimits()
    }

    /// The tier of `--default-isolation`.
    func isolationTier() throws -> IsolationTier {
        guard let tier = IsolationTier(rawValue: defaultIsolation) else {
            throw ValidationError("--default-isolation must be standard or hardened")
        }
        return tier
    }

    /// The gateway's limits from `--rate-limit`, `--max-connections*`, `--header-timeout`…
    func gatewayLimits() throws -> GatewayLimits {
        func rate(_ text: String?, _ option: String) throws -> GatewayLimits.Rate? {
            guard let text else { return nil }
            do { return try GatewayLimits.Rate(parsing: text) } catch { throw ValidationError("\(option): \(error.message)") }
        }
        func duration(_ text: String, _ option: String) throws -> Duration {
            guard let value = try? ResourceQuantity.duration(text), value >= .seconds(1), value <= .seconds(3600) else {
                throw ValidationError("\(option) '\(text.prefix(40))' must be a duration like 30s or 2m, from 1s to 1h")
            }
            return value
        }
        for origin in corsOrigins where origin != "*" {
            guard let url = URL(string: origin), let scheme = url.scheme, ["http", "https"].contains(scheme), url.host != nil,
                url.path.isEmpty, url.query == nil, url.fragment == nil, origin.count <= 253
            else {
                throw ValidationError("--cors-origin '\(origin.prefix(60))' must be * or an origin like https://app.example.com (scheme, host and port only)")
            }
        }
        guard (1...1_000_000).contains(maxConnections) else { throw ValidationError("--max-connections must be between 1 and 1000000") }
        guard (1...maxConnections).contains(maxConnectionsPerClient) else {
            throw ValidationError("--max-connections-per-client must be between 1 and --max-connections (\(maxConnections))")
        }
        return GatewayLimits(
            perClient: try rate(rateLimit, "--rate-limit"), perFunction: try rate(functionRateLimit, "--function-rate-limit"),
            maxConnectionsPerClient: maxConnectionsPerClient, maxConnections: maxConnections,
            headerTimeout: try duration(headerTimeout, "--header-timeout"), bodyTimeout: try duration(bodyTimeout, "--body-timeout")
        )
    }

    /// The engine address from `DOCKER_HOST`.
    func dockerEndpoint() throws -> DockerEndpoint {
        do {
            return try DockerEndpoint(dockerHost: ProcessInfo.processInfo.environment["DOCKER_HOST"])
        } catch let error as SwiftletError {
            throw ValidationError(error.message)
        }
    }

    /// The async workers' settings from `--async-*`.
    func asyncConfiguration() throws -> AsyncWorkers.Configuration {
        guard (1...10_000).contains(asyncWorkers) else { throw ValidationError("--async-workers must be between 1 and 10000") }
        func duration(_ text: String, _ option: String, range: ClosedRange<Duration>) throws -> Duration {
            guard let value = try? ResourceQuantity.duration(text), range.contains(value) else {
                throw ValidationError("\(option) '\(text.prefix(40))' must be a duration like 30s, 5m or 24h, from \(range.lowerBound) to \(range.upperBound)")
            }
            return value
        }
        return AsyncWorkers.Configuration(
            workers: asyncWorkers,
            leaseDuration: try duration(asyncLease, "--async-lease", range: .seconds(1)...(.seconds(3600))),
            retention: try duration(asyncRetention, "--async-retention", range: .seconds(1)...(.seconds(365 * 24 * 3600)))
        )
    }

    /// The warm pool sizes from `--warm-pool` and `--no-warm-pool`.
    func warmPoolSettings() throws -> WarmPool.Settings {
        if noWarmPool { return .disabled }
        var sizes = WarmPool.Settings.default.sizes
        for item in warmPool {
            let parts = item.split(separator: "=", maxSplits: 1).map(String.init)
            guard parts.count == 2, let runtime = Runtime(rawValue: parts[0]), let size = Int(parts[1]), (0...64).contains(size) else {
                throw ValidationError(
                    "--warm-pool '\(item)' is not RUNTIME=N with RUNTIME one of \(Runtime.allCases.map(\.rawValue).joined(separator: ", ")) and N from 0 to 64"
                )
            }
            sizes[runtime] = size
        }
        return WarmPool.Settings(sizes: sizes)
    }

    func run() async throws {
        var logger = Logger(label: "swiftlet")
        logger.logLevel = Logger.Level(rawValue: logLevel) ?? .info
        do {
            try await runPlatform(logger: logger)
        } catch let error as SwiftletError {
            printError(error.message)
            throw ExitCode.failure
        }
    }

    private func runPlatform(logger: Logger) async throws {
        guard getuid() == 0 else {
            throw SwiftletError(.internal, "swiftlet up must run as root (it creates sandboxes, or enters containers' network namespaces); try `sudo swiftlet up`")
        }
        let dataDirectory = DataDirectory(option: dataDir)
        let createdPassword = try dataDirectory.prepare()
        let store = try SQLiteStore(path: dataDirectory.database, logger: logger)
        let logStore = FunctionLogStore(
            configuration: .init(directory: dataDirectory.path + "/logs", maxFileBytes: logMaxBytes, files: logFiles), logger: logger
        )
        // Instance output goes to the platform log and to the per-function log files.
        let instanceLogs = CombinedLogSink([LoggerLogSink(logger: logger), logStore])
        let images = StoreImageCatalog(
            dataDirectory: dataDirectory.path, configuration: .init(insecureRegistries: Set(insecureRegistries)), logger: logger
        )
        // Debug-mode debugger ports are forwarded to this host address (a warning is logged if not loopback).
        let debugBindAddress = ProcessInfo.processInfo.environment["DEBUG_BIND_ADDRESS"].flatMap { $0.isEmpty ? nil : $0 }
        let provider: any Provider
        var warmPool: WarmPool?
        if self.provider == "docker" {
            var dockerConfiguration = DockerProvider.Configuration(dataDirectory: dataDirectory.path, endpoint: try dockerEndpoint())
            if let debugBindAddress { dockerConfiguration.debugBindAddress = debugBindAddress }
            dockerConfiguration.defaultIsolation = try isolationTier()
            provider = try DockerProvider(
                configuration: dockerConfiguration, codeSource: store, secrets: store, sink: instanceLogs,
                knownFunctions: { try await store.allFunctions() }, logger: logger
            )
        } else {
            var providerConfiguration = NativeProvider.Configuration(dataDirectory: dataDirectory.path, runtimePath: runc)
            if let debugBindAddress { providerConfiguration.debugBindAddress = debugBindAddress }
            providerConfiguration.hardenedRuntimePath = runsc
            providerConfiguration.defaultIsolation = try isolationTier()
            providerConfiguration.userNamespaces = !noUserNamespaces
            let native = try NativeProvider(
                configuration: providerConfiguration,
                codeSource: store, secrets: store, images: images, warmPool: try warmPoolSettings(), sink: instanceLogs,
                logger: logger
            )
            warmPool = native.warmPool
            provider = native
        }
        try await provider.start()
        // The one Prometheus registry of the process; the libraries write to it through swift-metrics.
        let registry = PrometheusCollectorRegistry()
        let metricsFactory = PrometheusMetricsFactory(registry: registry)
        let scheduler = Scheduler(provider: provider, logger: logger, metrics: FunctionMetrics(factory: metricsFactory))
        let functions = try await store.allFunctions()
        for spec in functions {
            await scheduler.deploy(spec)
        }
        var credentials: BasicCredentials?
        if !noAuth {
            guard let (user, password) = dataDirectory.credentials() else {
                throw SwiftletError(.internal, "cannot read \(dataDirectory.userFile) and \(dataDirectory.passwordFile); fix or delete them")
            }
            credentials = BasicCredentials(user: user, password: password)
        }
        let uploads = dataDirectory.path + "/uploads"
        try? FileManager.default.removeItem(atPath: uploads)
        var configuration = GatewayConfiguration(
            bindAddress: bind, port: port, credentials: credentials, maxBodyBytes: maxBodyBytes, uploadDirectory: uploads
        )
        configuration.limits = try gatewayLimits()
        configuration.corsOrigins = corsOrigins
        let authNote: String
        if noAuth {
            authNote = "auth is OFF (--no-auth)"
        } else {
            authNote = "credentials: \(dataDirectory.userFile) and \(dataDirectory.passwordFile)" + (createdPassword ? " (password created now)" : "")
        }
        let bindAddress = bind
        let restored = functions.count
        let asyncSettings = try asyncConfiguration()
        let callbackClient = HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: HTTPCallbackSender.clientConfiguration)
        let workers = AsyncWorkers(
            store: store, functions: store, invoker: SchedulerInvoker(scheduler: scheduler, maxResultBytes: maxBodyBytes),
            callbacks: HTTPCallbackSender(client: callbackClient), configuration: asyncSettings, logger: logger, metrics: metricsFactory
        )
        let app = buildApplication(
            configuration: configuration, store: store, scheduler: scheduler, provider: provider, images: images,
            warmPool: warmPool, asyncWorkers: workers, metrics: registry, logs: logStore, logger: logger,
            onServerRunning: { port in
                print("Swiftlet \(SwiftletVersion.current) listening on http://\(bindAddress):\(port)")
                print("data: \(dataDirectory.path); \(authNote); \(restored) function(s) restored")
                fflush(nil)
            }
        )
        var services: [ServiceGroupConfiguration.ServiceConfiguration] =
            (warmPool.map { [ServiceGroupConfiguration.ServiceConfiguration(service: $0)] } ?? [])
            + [.init(service: logStore), .init(service: scheduler), .init(service: workers), .init(service: app)]
        if !noMetricsPort {
            let metricsApp = buildMetricsApplication(
                endpoint: MetricsEndpoint(registry: registry, scheduler: scheduler, warmPool: warmPool, asyncWorkers: workers),
                bindAddress: bindAddress, port: metricsPort, logger: logger,
                onServerRunning: { port in
                    print("metrics: http://\(bindAddress):\(port)/metrics")
                    fflush(nil)
                }
            )
            services.append(.init(service: metricsApp))
        }
        let group = ServiceGroup(
            configuration: .init(
                services: services,
                gracefulShutdownSignals: [.sigterm, .sigint],
                logger: logger
            )
        )
        do {
            try await group.run()
        } catch {
            try? await callbackClient.shutdown()
            await provider.shutdown()
            if "\(error)".contains("Address already in use") {
                let ports = noMetricsPort ? "\(bind):\(port)" : "\(bind):\(port) (gateway) or \(bind):\(metricsPort) (metrics)"
                throw SwiftletError(
                    .internal,
                    "cannot listen on \(ports): the address is already in use; stop what uses it, or choose --port / --metrics-port (0 picks a free one) or --no-metrics-port"
                )
            }
            throw SwiftletError(.internal, "swiftlet stopped: \(error)")
        }
        try? await callbackClient.shutdown()
        await provider.shutdown()
        logger.info("swiftlet stopped cleanly")
    }
}

/// Prints `error: message` to stderr.
func printError(_ message: String) {
    FileHandle.standardError.write(Data(("error: " + message + "\n").utf8))
}
