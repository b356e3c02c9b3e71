import HTTPTypes
import NIOConcurrencyHelpers
import NIOCore

/// Keep-alive connections to one instance. Idle connections are reused (newest first) and
/// closed after ``maxIdleTime``; new ones are dialled on demand.
public final class ConnectionPool: Sendable {
    private let dial: @Sendable () async throws -> CInt
    private let group: any EventLoopGroup
    private let state = NIOLockedValueBox(State())
    /// The most idle connections kept.
    public let maxIdle: Int
    /// How long a connection may stay idle before it is closed instead of reused.
    public static let maxIdleTime: TimeAmount = .seconds(30)

    private struct State {
        var idle: [InstanceConnection] = []
        var closed = false
    }

    /// Creates a pool that dials with `dial` (returning a connected socket) on `group`.
    public init(group: any EventLoopGroup, maxIdle: Int = 64, dial: @escaping @Sendable () async throws -> CInt) {
        self.group = group
        self.maxIdle = maxIdle
        self.dial = dial
    }

    /// Sends `request` on an idle or new connection and returns the response head.
    public func send(_ request: ProxyRequest, timeout: TimeAmount) async throws -> ProxyResponse {
        let connection = try await acquire()
        do {
            return try await connection.send(request, timeout: timeout)
        } catch ProxyError.staleConnection(let written) {
            // Send again, once, on a new connection when the request never left or when sending
            // it twice is harmless; a crashed instance then fails to connect and the caller gets 502.
            guard !written || Self.idempotent.contains(request.head.method) else {
                throw ProxyError.connectionFailed("the instance closed the connection without answering")
            }
            do {
                return try await acquire(fresh: true).send(request, timeout: timeout)
            } catch ProxyError.staleConnection {
                throw ProxyError.connectionFailed("the instance closed the connection without answering")
            }
        }
    }

    /// Methods a client may repeat (RFC 9110 §9.2.2).
    static let idempotent: Set<HTTPRequest.Method> = [.get, .head, .options, .put, .delete, .trace]

    /// Closes every connection and refuses new ones.
    public func close() {
        let idle = state.withLockedValue { state -> [InstanceConnection] in
            state.closed = true
            defer { state.idle = [] }
            return state.idle
        }
        for connection in idle { connection.close() }
    }

    private func acquire(fresh: Bool = false) async throws -> InstanceConnection {
        if fresh { return try await dialNew() }
        let now = NIODeadline.now()
        let (reused, stale) = state.withLockedValue { state -> (InstanceConnection?, [InstanceConnection]) in
            var stale: [InstanceConnection] = []
            while let candidate = state.idle.popLast() {
                if candidate.isUsable && now - candidate.idleSince.withLockedValue({ $0 }) < Self.maxIdleTime {
                    return (candidate, stale)
                }
                stale.append(candidate)
            }
            return (nil, stale)
        }
        for connection in stale { connection.close() }
        if let reused { return reused }
        return try await dialNew()
    }

    private func dialNew() async throws -> InstanceConnection {
        guard !state.withLockedValue({ $0.closed }) else {
            throw ProxyError.connectionFailed("the instance is shutting down")
        }
        let fd: CInt
        do {
            fd = try await dial()
        } catch {
            throw ProxyError.connectionFailed("cannot connect to the instance: \(error)")
        }
        return try await InstanceConnection.open(fd: fd, group: group) { [weak self] connection in
            self?.release(connection)
        }
    }

    private func release(_ connection: InstanceConnection) {
        let keep = state.withLockedValue { state -> Bool in
            guard !state.closed, state.idle.count < maxIdle else { return false }
            state.idle.append(connection)
            return true
        }
        if !keep { connection.close() }
    }
}
