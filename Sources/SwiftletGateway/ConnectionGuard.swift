import HTTPTypes
import HummingbirdCore
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTPTypes
import SwiftletCore

/// Open connections by client address, shared by every connection's ``ConnectionGuard``.
final class ClientConnections: Sendable {
    private let counts = NIOLockedValueBox<[String: Int]>([:])
    let maxPerClient: Int

    init(maxPerClient: Int) {
        self.maxPerClient = maxPerClient
    }

    /// Counts a new connection of `client`; false when it is one too many.
    func open(_ client: String) -> Bool {
        counts.withLockedValue { counts in
            let count = counts[client, default: 0]
            guard count < maxPerClient else { return false }
            counts[client] = count + 1
            return true
        }
    }

    func close(_ client: String) {
        counts.withLockedValue { counts in
            let count = counts[client, default: 0] - 1
            counts[client] = count > 0 ? count : nil
        }
    }

    /// Open connections of `client` (for tests).
    func count(_ client: String) -> Int { counts.withLockedValue { $0[client, default: 0] } }
}

/// The first handler of every connection, before any HTTP parsing:
/// - a client address over ``GatewayLimits/maxConnectionsPerClient`` is closed at once;
/// - the first request head must be complete (`\r\n\r\n`) within ``GatewayLimits/headerTimeout``
///   of the connection's start (slowloris), whatever handles the connection afterwards (HTTP, or
///   a WebSocket upgrade). Later requests are timed by ``RequestDeadlines``.
final class ConnectionGate: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    private let connections: ClientConnections
    private let headerTimeout: TimeAmount
    private var client: String?
    private var refused = false
    private var timer: Scheduled<Void>?
    /// Bytes of `\r\n\r\n` matched so far; nil once the first head is complete.
    private var matched: Int? = 0

    init(connections: ClientConnections, limits: GatewayLimits) {
        self.connections = connections
        self.headerTimeout = .nanoseconds(limits.headerTimeout.inNanoseconds)
    }

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { admit(context: context) }
    }

    func channelActive(context: ChannelHandlerContext) {
        admit(context: context)
        context.fireChannelActive()
    }

    private func admit(context: ChannelHandlerContext) {
        guard client == nil, !refused else { return }
        let key = context.channel.remoteAddress?.ipAddress ?? "unknown"
        guard connections.open(key) else {
            refused = true
            context.channel.close(promise: nil)
            return
        }
        client = key
        let channel = context.channel
        timer = context.eventLoop.scheduleTask(in: headerTimeout) { channel.close(promise: nil) }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if refused { return }
        if var count = matched {
            let marker: [UInt8] = [13, 10, 13, 10]
            for byte in unwrapInboundIn(data).readableBytesView {
                count = byte == marker[count] ? count + 1 : (byte == 13 ? 1 : 0)
                if count == 4 { break }
            }
            if count == 4 {
                matched = nil
                timer?.cancel()
                timer = nil
            } else {
                matched = count
            }
        }
        context.fireChannelRead(data)
    }

    func channelInactive(context: ChannelHandlerContext) {
        release()
        context.fireChannelInactive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        release()
    }

    private func release() {
        timer?.cancel()
        timer = nil
        if let client { connections.close(client) }
        client = nil
    }
}

/// Times the requests of an HTTP connection after its first: the next request head must arrive
/// within ``GatewayLimits/headerTimeout`` of the end of the previous answer (so an idle keep-alive
/// connection ends too), and a request body within ``GatewayLimits/bodyTimeout`` of its head.
final class RequestDeadlines: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    private let headerTimeout: TimeAmount
    private let bodyTimeout: TimeAmount
    private var timer: Scheduled<Void>?

    init(limits: GatewayLimits) {
        self.headerTimeout = .nanoseconds(limits.headerTimeout.inNanoseconds)
        self.bodyTimeout = .nanoseconds(limits.bodyTimeout.inNanoseconds)
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        timer?.cancel()
        timer = nil
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head: arm(bodyTimeout, context: context)
        case .end:
            timer?.cancel()
            timer = nil
        case .body: break
        }
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if case .end = unwrapOutboundIn(data) {
            // The answer is complete: the next request head has `headerTimeout` to arrive.
            arm(headerTimeout, context: context)
        }
        context.write(data, promise: promise)
    }

    func channelInactive(context: ChannelHandlerContext) {
        timer?.cancel()
        timer = nil
        context.fireChannelInactive()
    }

    private func arm(_ timeout: TimeAmount, context: ChannelHandlerContext) {
        timer?.cancel()
        let channel = context.channel
        timer = context.eventLoop.scheduleTask(in: timeout) { channel.close(promise: nil) }
    }
}

/// A server child channel that puts a ``ConnectionGate`` in front of another one.
struct GatedChildChannel<Inner: ServerChildChannel>: ServerChildChannel {
    typealias Value = Inner.Value
    let inner: Inner
    let connections: ClientConnections
    let limits: GatewayLimits

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        do {
            try channel.pipeline.syncOperations.addHandler(ConnectionGate(connections: connections, limits: limits), position: .first)
        } catch {
            return channel.eventLoop.makeFailedFuture(error)
        }
        return inner.setup(channel: channel, logger: logger)
    }

    func handle(value: Value, logger: Logger) async {
        await inner.handle(value: value, logger: logger)
    }
}
