import NIOConcurrencyHelpers
import NIOCore

/// Tells a streaming route that its client went away: the connection's input closed (the
/// server allows half-closure, so a client's FIN does not close the channel by itself) or the
/// channel closed.
final class ClientGoneWatcher: ChannelInboundHandler, RemovableChannelHandler, Sendable {
    typealias InboundIn = NIOAny

    private let onGone: NIOLockedValueBox<(@Sendable () -> Void)?>

    private init(onGone: @escaping @Sendable () -> Void) {
        self.onGone = NIOLockedValueBox(onGone)
    }

    /// Calls `onGone` once, when the client of `channel` goes; call the returned closure when
    /// done streaming (it removes the watcher).
    static func watch(_ channel: any Channel, onGone: @escaping @Sendable () -> Void) async -> @Sendable () -> Void {
        let watcher = ClientGoneWatcher(onGone: onGone)
        channel.closeFuture.whenComplete { _ in watcher.fire() }
        do {
            try await channel.pipeline.addHandler(watcher, position: .first).get()
        } catch {
            watcher.fire()
        }
        return {
            watcher.onGone.withLockedValue { $0 = nil }
            channel.pipeline.removeHandler(watcher, promise: nil)
        }
    }

    private func fire() {
        let callback = onGone.withLockedValue { callback in
            defer { callback = nil }
            return callback
        }
        callback?()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let event = event as? ChannelEvent, event == .inputClosed { fire() }
        context.fireUserInboundEventTriggered(event)
    }

    func channelInactive(context: ChannelHandlerContext) {
        fire()
        context.fireChannelInactive()
    }
}
