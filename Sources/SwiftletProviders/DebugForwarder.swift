import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import SwiftletCore
import SwiftletSandbox

/// Forwards a debugger port of one instance to the host: it listens on a random free port of
/// `bindAddress` and joins each accepted connection to a new connection to `127.0.0.1:port`
/// inside the instance's network namespace (dialled like the data path, through ``NetnsDialer``).
/// ``stop()`` closes the listener and every forwarded connection.
public final class DebugForwarder: Sendable {
    /// The debugger forwarded.
    public let debugger: DebugMode.Debugger
    /// Where it is reachable on the host, like `127.0.0.1:40123`.
    public let endpoint: String
    private let server: any Channel
    private let connections: ConnectionSet

    private init(debugger: DebugMode.Debugger, endpoint: String, server: any Channel, connections: ConnectionSet) {
        self.debugger = debugger
        self.endpoint = endpoint
        self.server = server
        self.connections = connections
    }

    /// Starts forwarding `debugger` of the instance whose network namespace is `namespaceFD`.
    public static func start(
        debugger: DebugMode.Debugger, bindAddress: String, namespaceFD: CInt, dialer: NetnsDialer, group: any EventLoopGroup,
        logger: Logger
    ) async throws -> DebugForwarder {
        let connections = ConnectionSet()
        let target = debugger.port
        let server: any Channel
        do {
            server = try await ServerBootstrap(group: group)
                .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
                .childChannelOption(.autoRead, value: false)
                .childChannelInitializer { inbound in
                    guard connections.add(inbound) else { return inbound.eventLoop.makeFailedFuture(ChannelError.ioOnClosedChannel) }
                    let loop = inbound.eventLoop
                    return loop.makeFutureWithTask {
                        try await dialer.connect(namespaceFD: namespaceFD, port: target)
                    }.flatMap { socket in
                        let pair = NIOLoopBound(GlueHandler.matchedPair(), eventLoop: loop)
                        return ClientBootstrap(group: loop)
                            .channelOption(.autoRead, value: false)
                            .channelInitializer { outbound in
                                outbound.eventLoop.makeCompletedFuture { try outbound.pipeline.syncOperations.addHandler(pair.value.1) }
                            }
                            .withConnectedSocket(socket)
                            .flatMapThrowing { outbound in
                                guard connections.add(outbound) else { throw ChannelError.ioOnClosedChannel }
                                try inbound.pipeline.syncOperations.addHandler(pair.value.0)
                                try inbound.syncOptions?.setOption(.autoRead, value: true)
                                outbound.setOption(.autoRead, value: true).whenFailure { _ in outbound.close(promise: nil) }
                            }
                    }.flatMapError { error in
                        logger.warning(
                            "cannot forward a debugger connection into the instance",
                            metadata: ["swiftlet.debugger": "\(debugger.name)", "error": "\(error)"]
                        )
                        return loop.makeFailedFuture(error)
                    }
                }
                .bind(host: bindAddress, port: 0).get()
        } catch {
            throw SwiftletError(
                .internal, "cannot listen on \(bindAddress) to forward the \(debugger.name) debugger: \(error); check DEBUG_BIND_ADDRESS",
                cause: error
            )
        }
        let port = server.localAddress?.port ?? 0
        let host = bindAddress.contains(":") ? "[\(bindAddress)]" : bindAddress
        return DebugForwarder(debugger: debugger, endpoint: "\(host):\(port)", server: server, connections: connections)
    }

    /// Stops listening and closes every forwarded connection.
    public func stop() {
        server.close(promise: nil)
        for channel in connections.closeAll() {
            channel.close(promise: nil)
        }
    }

    /// The open connections (both sides), closed together at ``DebugForwarder/stop()``.
    final class ConnectionSet: Sendable {
        private let state = NIOLockedValueBox<(closed: Bool, channels: [ObjectIdentifier: any Channel])>((false, [:]))

        /// Tracks `channel` until it closes; false (and the channel closed) once the set closed.
        func add(_ channel: any Channel) -> Bool {
            let key = ObjectIdentifier(channel)
            let added = state.withLockedValue { state -> Bool in
                guard !state.closed else { return false }
                state.channels[key] = channel
                return true
            }
            guard added else {
                channel.close(promise: nil)
                return false
            }
            channel.closeFuture.whenComplete { _ in
                self.state.withLockedValue { _ = $0.channels.removeValue(forKey: key) }
            }
            return true
        }

        /// Closes the set and returns the channels still open.
        func closeAll() -> [any Channel] {
            state.withLockedValue { state in
                state.closed = true
                defer { state.channels = [:] }
                return Array(state.channels.values)
            }
        }
    }
}
