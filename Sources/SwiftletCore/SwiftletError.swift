/// An error Swiftlet reports to a user: an opaque code, a message that says what to do, and an
/// optional underlying cause.
///
/// ```swift
/// throw SwiftletError(.notFound, "function 'hello' not found; deploy it first with `swiftlet deploy hello`")
/// ```
public struct SwiftletError: Error, Sendable, CustomStringConvertible {
    /// What kind of failure this is. The gateway maps it to an HTTP status.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        /// The stable name of the code.
        public let rawValue: String
        private init(_ rawValue: String) { self.rawValue = rawValue }

        /// The caller sent something malformed or unacceptable (HTTP 400).
        public static let invalidInput = Code("invalid_input")
        /// The named thing does not exist (HTTP 404).
        public static let notFound = Code("not_found")
        /// The thing already exists or is being changed concurrently (HTTP 409).
        public static let conflict = Code("conflict")
        /// The request body or the code is larger than allowed (HTTP 413).
        public static let tooLarge = Code("too_large")
        /// The caller is not authenticated (HTTP 401).
        public static let unauthorized = Code("unauthorized")
        /// Authenticated, but not allowed to do this (HTTP 403).
        public static let forbidden = Code("forbidden")
        /// Too many calls wait already; retry later (HTTP 429 with `Retry-After`).
        public static let tooManyRequests = Code("too_many_requests")
        /// The function could not be reached or crashed (HTTP 502).
        public static let badGateway = Code("bad_gateway")
        /// No instance could serve in time (HTTP 503).
        public static let unavailable = Code("unavailable")
        /// The function did not answer within its timeout (HTTP 504).
        public static let timeout = Code("timeout")
        /// The feature is not available in this build (HTTP 501).
        public static let unsupported = Code("unsupported")
        /// Swiftlet itself failed; the message says what to check (HTTP 500).
        public static let `internal` = Code("internal")

        public var description: String { rawValue }
    }

    /// The kind of failure.
    public let code: Code
    /// A message for the user that says what went wrong and what to do.
    public let message: String
    /// The underlying error, if any.
    public let cause: (any Error)?

    /// Creates an error with a code, a message that tells the user what to do, and an optional cause.
    public init(_ code: Code, _ message: String, cause: (any Error)? = nil) {
        self.code = code
        self.message = message
        self.cause = cause
    }

    public var description: String {
        if let cause { return "\(message) (\(cause))" }
        return message
    }
}
