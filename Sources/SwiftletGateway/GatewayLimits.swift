import SwiftletCore

/// How much the gateway lets one client (and the whole world) take: request rates, connections,
/// and how long a request may take to arrive. The defaults stop a slow client from holding
/// connections (slowloris) and one client from taking every connection; rate limits are off until
/// set (`--rate-limit`, `--function-rate-limit`).
public struct GatewayLimits: Sendable, Equatable {
    /// A token bucket: `perSecond` requests on average, up to `burst` at once.
    public struct Rate: Sendable, Equatable, CustomStringConvertible {
        /// Requests per second, on average.
        public var perSecond: Double
        /// Requests allowed at once after a quiet period.
        public var burst: Double

        /// Creates a rate; `burst` defaults to one second's worth (at least 1).
        public init(perSecond: Double, burst: Double? = nil) {
            self.perSecond = perSecond
            self.burst = burst ?? max(1, perSecond)
        }

        /// Parses `N` or `N/BURST` (`100`, `50/200`, `0.5/1`).
        public init(parsing text: String) throws(SwiftletError) {
            let parts = text.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
            guard let rate = Double(parts[0]), rate.isFinite, rate > 0, rate <= 1_000_000 else {
                throw SwiftletError(.invalidInput, "rate '\(text.prefix(40))' is not N or N/BURST with N a number of requests per second above 0")
            }
            var burst: Double?
            if parts.count == 2 {
                guard let value = Double(parts[1]), value.isFinite, value >= 1, value <= 10_000_000 else {
                    throw SwiftletError(.invalidInput, "rate '\(text.prefix(40))': BURST must be a number of requests of at least 1")
                }
                burst = value
            }
            self.init(perSecond: rate, burst: burst)
        }

        public var description: String { "\(perSecond)/s (burst \(burst))" }
    }

    /// Requests per client address, on every route; nil: no limit.
    public var perClient: Rate?
    /// Calls per function (`/function/*`, `/async-function/*`); nil: no limit.
    public var perFunction: Rate?
    /// Open connections one client address may hold; more are closed at once.
    public var maxConnectionsPerClient: Int
    /// Open connections in all.
    public var maxConnections: Int
    /// How long a connection may take to send a whole request head, from its start or from the
    /// end of the previous answer (so also how long a keep-alive connection may idle).
    public var headerTimeout: Duration
    /// How long a request body may take to arrive once its head is in.
    public var bodyTimeout: Duration
    /// The largest request head (all header lines together), in bytes.
    public var maxHeaderBytes: Int
    /// The most header fields in one request.
    public var maxHeaderCount: Int

    /// Creates limits; the defaults suit a gateway reachable by untrusted clients.
    public init(
        perClient: Rate? = nil, perFunction: Rate? = nil, maxConnectionsPerClient: Int = 512, maxConnections: Int = 4096,
        headerTimeout: Duration = .seconds(30), bodyTimeout: Duration = .seconds(120), maxHeaderBytes: Int = 64 * 1024,
        maxHeaderCount: Int = 200
    ) {
        self.perClient = perClient
        self.perFunction = perFunction
        self.maxConnectionsPerClient = maxConnectionsPerClient
        self.maxConnections = maxConnections
        self.headerTimeout = headerTimeout
        self.bodyTimeout = bodyTimeout
        self.maxHeaderBytes = maxHeaderBytes
        self.maxHeaderCount = maxHeaderCount
    }
}
