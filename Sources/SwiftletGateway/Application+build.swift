import Hummingbird
import HummingbirdCore
import HummingbirdWebSocket
import Logging
import Prometheus
import SwiftletCore
import SwiftletLogs
import SwiftletProviders
import SwiftletQueue
import SwiftletScheduler
import SwiftletStore

/// Builds the gateway application the binary and the tests run. The async routes are served
/// when `store` is also an ``AsyncCallStore`` (both built-in stores are); `asyncWorkers` is told
/// about each queued call. With `metrics`, `GET /metrics` serves that registry (which the
/// scheduler's and workers' factories should write to) and every request's duration is recorded.
/// With `logs`, `GET /system/logs` and the WebSocket `GET /system/logs/ws` serve instance logs.
///
/// ```swift
/// let app = buildApplication(configuration: config, store: store, scheduler: scheduler, provider: provider, logger: logger)
/// try await ServiceGroup(services: [scheduler, app], …).run()
/// ```
public func buildApplication(
    configuration: GatewayConfiguration, store: any FunctionStore, scheduler: Scheduler, provider: any Provider,
    images: (any ImageCatalog)? = nil, warmPool: WarmPool? = nil, asyncWorkers: AsyncWorkers? = nil,
    validator: DeploymentValidator = DeploymentValidator(), metrics: PrometheusCollectorRegistry? = nil, logs: FunctionLogStore? = nil,
    logger: Logger,
    onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in }
) -> some ApplicationProtocol {
    let router = Router(context: SwiftletRequestContext.self)
    if let metrics {
        router.add(middleware: RequestMetricsMiddleware(factory: PrometheusMetricsFactory(registry: metrics)))
        MetricsEndpoint(registry: metrics, scheduler: scheduler, warmPool: warmPool, asyncWorkers: asyncWorkers).addRoutes(to: router)
    }
    // Before auth: a preflight carries no credentials.
    if !configuration.corsOrigins.isEmpty {
        router.add(middleware: CORSPolicy(origins: Set(configuration.corsOrigins)))
    }
    if configuration.limits.perClient != nil || configuration.limits.perFunction != nil {
        router.add(middleware: RateLimitMiddleware(limits: configuration.limits))
    }
    let tokenStore = store as? any TokenStore
    if let credentials = configuration.credentials {
        router.add(middleware: AuthMiddleware(credentials: credentials, tokens: tokenStore.map { TokenAuthority(store: $0) }, scheduler: scheduler))
    }
    if let tokenStore {
        TokensController(store: tokenStore).addRoutes(to: router)
    }
    router.add(middleware: FunctionProxy(scheduler: scheduler, maxBodyBytes: configuration.maxBodyBytes))
    if let calls = store as? any AsyncCallStore {
        router.add(middleware: AsyncFunctionEnqueue(functions: store, scheduler: scheduler, calls: calls, workers: asyncWorkers, maxBodyBytes: configuration.maxBodyBytes))
        AsyncCallsController(calls: calls, workers: asyncWorkers).addRoutes(to: router)
    }
    SystemController(version: configuration.version, provider: provider).addRoutes(to: router)
    // Every connection is gated (connections per client, the first head's deadline) and timed
    // (later heads and bodies), with bounded request heads.
    let limits = configuration.limits
    let connections = ClientConnections(maxPerClient: limits.maxConnectionsPerClient)
    let http1 = HTTP1Channel.Configuration(
        additionalChannelHandlers: [RequestDeadlines(limits: limits)],
        httpDecoderConfiguration: .init(
            maxHeaderFieldSize: limits.maxHeaderBytes, maxHeaderListSize: limits.maxHeaderBytes, maxHeaderFieldCount: limits.maxHeaderCount
        )
    )
    var server = HTTPServerBuilder { responder in
        GatedChildChannel(inner: HTTP1Channel(responder: responder, configuration: http1), connections: connections, limits: limits)
    }
    if let logs {
        LogsController(store: store, logs: logs).addRoutes(to: router)
        let webSocketAuth = configuration.credentials.map {
            AuthMiddleware<LogsWebSocketContext>(credentials: $0, tokens: tokenStore.map { TokenAuthority(store: $0) }, scheduler: scheduler)
        }
        let webSocketResponder = LogsWebSocket(store: store, logs: logs).router(auth: webSocketAuth).buildResponder()
        server = HTTPServerBuilder { responder in
            GatedChildChannel(
                inner: HTTP1WebSocketUpgradeChannel(responder: responder, webSocketResponder: webSocketResponder, configuration: .init(http1: http1)),
                connections: connections, limits: limits
            )
        }
    }
    FunctionsController(store: store, scheduler: scheduler, provider: provider, validator: validator).addRoutes(to: router)
    SecretsController(store: store, scheduler: scheduler).addRoutes(to: router)
    ScaleController(store: store, scheduler: scheduler, warmPool: warmPool).addRoutes(to: router)
    if let images {
        ImagesController(
            images: images, store: store, uploadDirectory: configuration.uploadDirectory, maxArchiveBytes: configuration.maxImageArchiveBytes
        ).addRoutes(to: router)
    }
    return Application(
        router: router,
        server: server,
        configuration: .init(
            address: .hostname(configuration.bindAddress, port: configuration.port), serverName: "swiftlet",
            availableConnectionsDelegate: MaximumAvailableConnections(limits.maxConnections, logger: logger)
        ),
        onServerRunning: { channel in await onServerRunning(channel.localAddress?.port ?? configuration.port) },
        logger: logger
    )
}
