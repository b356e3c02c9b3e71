import Hummingbird
import HummingbirdWebSocket
import NIOCore
import ServiceLifecycle
import SwiftletLogs
import SwiftletStore

/// The request context of the WebSocket router (`/system/logs/ws`).
struct LogsWebSocketContext: RequestContext, WebSocketRequestContext {
    var coreContext: CoreRequestContextStorage
    let webSocket: WebSocketHandlerReference<Self>

    init(source: ApplicationRequestContextSource) {
        self.coreContext = .init(source: source)
        self.webSocket = .init()
    }
}

/// `GET /system/logs/ws?name=…`: the lines of `GET /system/logs?follow=true` (the same JSON
/// objects, one per text message) over a WebSocket, until either side closes.
struct LogsWebSocket: Sendable {
    let store: any FunctionStore
    let logs: FunctionLogStore

    /// The router the WebSocket upgrade consults, with the same auth as `/system/logs`: basic
    /// auth or an API token with `deploy` (or `admin`) scope; nil when auth is off.
    func router(auth: AuthMiddleware<LogsWebSocketContext>?) -> Router<LogsWebSocketContext> {
        let router = Router(context: LogsWebSocketContext.self)
        if let auth {
            router.add(middleware: auth)
        }
        router.ws("/system/logs/ws") { request, _ in
            _ = try await LogRequest.parse(request.uri, store: store)
            return .upgrade([:])
        } onUpgrade: { inbound, outbound, context in
            let parsed = try await LogRequest.parse(context.request.uri, store: store)
            let function = parsed.function
            let follow = try await logs.follow(function: function, query: parsed.query)
            for entry in follow.history {
                try await outbound.write(.text(LogLine(function: function, entry: entry).json()))
            }
            // Ends when the client closes (the inbound stream ends), the store stops or the gateway shuts down.
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask {
                    for await entry in follow.live.cancelOnGracefulShutdown() {
                        try await outbound.write(.text(LogLine(function: function, entry: entry).json()))
                    }
                }
                group.addTask {
                    for try await _ in inbound {}
                }
                try await group.next()
                group.cancelAll()
            }
        }
        return router
    }
}
