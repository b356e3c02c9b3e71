import Hummingbird
import NIOCore
import ServiceLifecycle
import SwiftletCore
import SwiftletLogs
import SwiftletStore

/// `GET /system/logs`: a function's instance logs as NDJSON, optionally following new lines
/// (from any instance, also ones started later) until the client disconnects.
struct LogsController: Sendable {
    let store: any FunctionStore
    let logs: FunctionLogStore

    func addRoutes(to router: Router<SwiftletRequestContext>) {
        router.get("/system/logs", use: logsRoute)
    }

    @Sendable func logsRoute(_ request: Request, context: SwiftletRequestContext) async throws -> Response {
        let parsed = try await LogRequest.parse(request.uri, store: store)
        let headers: HTTPFields = [.contentType: "application/x-ndjson", .cacheControl: "no-cache"]
        let function = parsed.function
        let logs = self.logs
        let query = parsed.query
        guard parsed.follow else {
            // Chunked like the following answer; the lines are read on the thread pool.
            return Response(
                status: .ok, headers: headers,
                body: ResponseBody { writer in
                    var buffer = ByteBuffer()
                    for entry in try await logs.read(function: function, query: query) {
                        buffer.writeString(LogLine(function: function, entry: entry).json() + "\n")
                    }
                    try await writer.write(buffer)
                    try await writer.finish(nil)
                }
            )
        }
        let channel = context.channel
        return Response(
            status: .ok, headers: headers,
            body: ResponseBody { writer in
                // Subscribing here, when the body is written, means nothing is left subscribed
                // if the answer is never sent.
                let follow = try await logs.follow(function: function, query: query)
                var buffer = ByteBuffer()
                for entry in follow.history { buffer.writeString(LogLine(function: function, entry: entry).json() + "\n") }
                // An empty write still sends the headers, so the client knows it is following.
                try await writer.write(buffer)
                try await Self.relay(follow.live, until: channel) { entry in
                    try await writer.write(ByteBuffer(string: LogLine(function: function, entry: entry).json() + "\n"))
                }
                try await writer.finish(nil)
            }
        )
    }

    /// Hands each entry of `live` to `body` until `live` ends or the client of `channel` goes;
    /// the subscription ends with it either way, so a client that goes away leaks nothing.
    static func relay(
        _ live: AsyncStream<LogEntry>, until channel: any Channel, _ body: (LogEntry) async throws -> Void
    ) async throws {
        let (relay, continuation) = AsyncStream.makeStream(of: LogEntry.self, bufferingPolicy: .bufferingNewest(10_000))
        let stopWatching = await ClientGoneWatcher.watch(channel) { continuation.finish() }
        defer { stopWatching() }
        // Graceful shutdown ends followers too, so the gateway does not wait for their clients.
        try await withGracefulShutdownHandler {
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask {
                    for await entry in live { continuation.yield(entry) }
                    continuation.finish()
                }
                defer { group.cancelAll() }
                for await entry in relay { try await body(entry) }
            }
        } onGracefulShutdown: {
            continuation.finish()
        }
    }
}
