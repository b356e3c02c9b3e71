import AsyncAlgorithms
import HTTPTypes
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOHTTPTypes
import NIOHTTPTypesHTTP1
import NIOPosix

/// One keep-alive HTTP/1.1 connection to an instance. A task owns the channel and runs one
/// exchange at a time; ``ConnectionPool`` hands the connection out and takes it back.
final class InstanceConnection: Sendable {
    private struct Job: Sendable {
        var request: ProxyRequest
        var timeout: TimeAmount
        var continuation: CheckedContinuation<ProxyResponse, any Error>
    }

    private let jobs: AsyncStream<Job>.Continuation
    private let jobStream: AsyncStream<Job>
    private let channel: any Channel
    private let open = NIOLockedValueBox(true)
    /// Set when the instance's answer says the connection ends with it (HTTP/1.0, `close`).
    private let closeAfterResponse: NIOLockedValueBox<Bool>
    /// When the connection went back to the pool.
    let idleSince = NIOLockedValueBox(NIODeadline.now())

    private init(channel: any Channel, closeAfterResponse: NIOLockedValueBox<Bool>) {
        self.channel = channel
        self.closeAfterResponse = closeAfterResponse
        (jobStream, jobs) = AsyncStream.makeStream(of: Job.self)
    }

    /// Whether the connection can take another exchange.
    var isUsable: Bool { open.withLockedValue { $0 } && channel.isActive }

    /// Wraps the connected socket `fd` and starts the connection's task.
    static func open(fd: CInt, group: any EventLoopGroup, onIdle: @escaping @Sendable (InstanceConnection) -> Void) async throws
        -> InstanceConnection
    {
        let closeAfterResponse = NIOLockedValueBox(false)
        let asyncChannel = try await ClientBootstrap(group: group)
            .withConnectedSocket(fd) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHTTPClientHandlers()
                    try channel.pipeline.syncOperations.addHandler(KeepAliveObserver(closeAfterResponse: closeAfterResponse))
                    try channel.pipeline.syncOperations.addHandler(HTTP1ToHTTPClientCodec())
                    return try NIOAsyncChannel<HTTPResponsePart, HTTPRequestPart>(wrappingChannelSynchronously: channel)
                }
            }
        let connection = InstanceConnection(channel: asyncChannel.channel, closeAfterResponse: closeAfterResponse)
        // The task ends when the channel closes; it holds no reference that outlives it.
        Task { await connection.run(asyncChannel, onIdle: onIdle) }
        return connection
    }

    /// Sends `request` and waits for the response head; the body streams afterwards.
    func send(_ request: ProxyRequest, timeout: TimeAmount) async throws -> ProxyResponse {
        try await withCheckedThrowingContinuation { continuation in
            let job = Job(request: request, timeout: timeout, continuation: continuation)
            if case .terminated = jobs.yield(job) {
                continuation.resume(throwing: ProxyError.connectionFailed("the connection to the instance closed"))
            }
        }
    }

    /// Closes the connection.
    func close() {
        open.withLockedValue { $0 = false }
        jobs.finish()
        channel.close(promise: nil)
    }

    private func run(_ asyncChannel: NIOAsyncChannel<HTTPResponsePart, HTTPRequestPart>, onIdle: @escaping @Sendable (InstanceConnection) -> Void) async {
        let channel = asyncChannel.channel
        do {
            try await asyncChannel.executeThenClose { inbound, outbound in
                var iterator = inbound.makeAsyncIterator()
                for await job in jobStream {
                    let keepAlive = try await exchange(job, channel: channel, iterator: &iterator, outbound: outbound)
                    guard keepAlive else { return }
                    idleSince.withLockedValue { $0 = .now() }
                    onIdle(self)
                }
            }
        } catch {
            // The exchange reported the failure to its caller; the channel is closed.
        }
        open.withLockedValue { $0 = false }
        jobs.finish()
        for await job in jobStream {
            job.continuation.resume(throwing: ProxyError.connectionFailed("the connection to the instance closed"))
        }
    }

    /// Runs one request/response; returns whether the connection may be reused.
    private func exchange(
        _ job: Job, channel: any Channel,
        iterator: inout NIOAsyncChannelInboundStream<HTTPResponsePart>.AsyncIterator,
        outbound: NIOAsyncChannelOutboundWriter<HTTPRequestPart>
    ) async throws -> Bool {
        let bodyChannel = AsyncThrowingChannel<ByteBuffer, any Error>()
        let abandoned = NIOLockedValueBox(false)
        let timedOut = NIOLockedValueBox(false)
        let timer = channel.eventLoop.scheduleTask(in: job.timeout) {
            timedOut.withLockedValue { $0 = true }
            bodyChannel.fail(ProxyError.timeout)
            channel.close(promise: nil)
        }
        defer { timer.cancel() }
        var delivered = false
        var written = false
        do {
            // One write, one flush. If the instance closes while we write (a server that answers
            // as soon as it has the head, then closes), its answer may still be there to read.
            var parts: [HTTPRequestPart] = [.head(job.request.head)]
            if job.request.body.readableBytes > 0 {
                parts.append(.body(job.request.body))
            }
            parts.append(.end(nil))
            written = true
            do {
                try await outbound.write(contentsOf: parts)
            } catch {
                // Read on: an answer the instance sent before closing is still delivered; without
                // one, the exchange ends as a stale connection below.
            }
            var head: HTTPResponse
            repeat {
                // A connection that ends before any answer (an idle keep-alive the instance closed,
                // or a reset from a full listen queue) may be retried by the pool.
                let next: HTTPResponsePart?
                do {
                    next = try await iterator.next()
                } catch {
                    throw timedOut.withLockedValue({ $0 }) ? error : ProxyError.staleConnection(written: written)
                }
                guard let part = next else {
                    throw ProxyError.staleConnection(written: written)
                }
                guard case .head(let h) = part else {
                    throw ProxyError.connectionFailed("the instance sent a malformed response")
                }
                head = h
            } while head.status.kind == .informational
            job.continuation.resume(returning: ProxyResponse(head: head, body: ProxyResponseBody(channel: bodyChannel, abandoned: abandoned)))
            delivered = true
            while true {
                guard let part = try await iterator.next() else {
                    throw ProxyError.connectionFailed("the instance closed the connection in the middle of its answer")
                }
                switch part {
                case .body(let chunk):
                    await bodyChannel.send(chunk)
                    if abandoned.withLockedValue({ $0 }) { return false }
                case .end:
                    bodyChannel.finish()
                    return Self.keepAlive(head) && !closeAfterResponse.withLockedValue({ $0 }) && !timedOut.withLockedValue({ $0 })
                case .head:
                    throw ProxyError.connectionFailed("the instance sent a malformed response")
                }
            }
        } catch {
            let failure: any Error =
                timedOut.withLockedValue({ $0 }) ? ProxyError.timeout : (error as? ProxyError ?? .connectionFailed("\(error)"))
            if delivered {
                bodyChannel.fail(failure)
            } else {
                job.continuation.resume(throwing: failure)
            }
            return false
        }
    }

    private static func keepAlive(_ head: HTTPResponse) -> Bool {
        !(head.headerFields[.connection]?.lowercased().contains("close") ?? false)
    }
}

/// Notes whether an HTTP/1 answer ends its connection (HTTP/1.0 without keep-alive, or
/// `Connection: close`), which the HTTP-types conversion after it cannot tell.
final class KeepAliveObserver: ChannelInboundHandler, Sendable {
    typealias InboundIn = HTTPClientResponsePart
    typealias InboundOut = HTTPClientResponsePart

    private let closeAfterResponse: NIOLockedValueBox<Bool>

    init(closeAfterResponse: NIOLockedValueBox<Bool>) {
        self.closeAfterResponse = closeAfterResponse
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if case .head(let head) = unwrapInboundIn(data), !head.isKeepAlive {
            closeAfterResponse.withLockedValue { $0 = true }
        }
        context.fireChannelRead(data)
    }
}
