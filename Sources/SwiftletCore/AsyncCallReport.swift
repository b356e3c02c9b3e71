import Foundation

/// An async call as `GET /system/async/{callId}` shows it (and `swiftlet call` reads it).
/// Timestamps are RFC 3339 with milliseconds; a body that is not UTF-8 is base64.
public struct AsyncCallReport: Codable, Sendable, Equatable {
    /// The request as it will be (or was) replayed; the body's size only.
    public struct Request: Codable, Sendable, Equatable {
        public var method: String
        public var path: String
        public var bodyBytes: Int
    }

    /// The function's answer.
    public struct Result: Codable, Sendable, Equatable {
        /// The HTTP status (503 when the function could not be called).
        public var status: Int
        /// The answer's headers, in order.
        public var headers: [HeaderField]
        /// The body as text, or base64 when `bodyEncoding` is `base64`; absent in lists.
        public var body: String?
        /// `utf8` or `base64`; absent in lists.
        public var bodyEncoding: String?
        /// The body's size.
        public var bodyBytes: Int
        /// How long the attempt took.
        public var durationSeconds: Double
    }

    /// The callback's delivery.
    public struct Callback: Codable, Sendable, Equatable {
        public var url: String
        public var status: CallbackState.Status
        public var attempts: Int
        public var lastError: String?
        public var deliveredAt: String?
    }

    public var callId: String
    public var function: String
    public var status: AsyncCallStatus
    public var attempts: Int
    public var maxAttempts: Int
    public var createdAt: String
    public var updatedAt: String
    /// When the next attempt is due (queued calls only).
    public var nextAttemptAt: String?
    public var startedAt: String?
    public var finishedAt: String?
    public var lastError: String?
    public var request: Request
    public var callback: Callback?
    public var result: Result?

    /// The report of `call`; `includeBody` adds the answer's body.
    public init(_ call: AsyncCall, includeBody: Bool) {
        callId = call.id
        function = call.function
        status = call.status
        attempts = call.attempts
        maxAttempts = call.maxAttempts
        createdAt = RFC3339.formatPrecise(call.createdAt)
        updatedAt = RFC3339.formatPrecise(call.updatedAt)
        nextAttemptAt = call.status == .queued ? RFC3339.formatPrecise(call.nextAttemptAt) : nil
        startedAt = call.startedAt.map(RFC3339.formatPrecise)
        finishedAt = call.finishedAt.map(RFC3339.formatPrecise)
        lastError = call.lastError
        request = Request(method: call.request.method, path: call.request.path, bodyBytes: call.request.bodyBytes)
        callback = call.callbackURL.map {
            Callback(
                url: $0, status: call.callback.status, attempts: call.callback.attempts, lastError: call.callback.lastError,
                deliveredAt: call.callback.deliveredAt.map(RFC3339.formatPrecise)
            )
        }
        result = call.result.map { result in
            var body: String?
            var encoding: String?
            if includeBody {
                if let text = String(validating: result.body, as: UTF8.self) {
                    (body, encoding) = (text, "utf8")
                } else {
                    (body, encoding) = (result.body.base64EncodedString(), "base64")
                }
            }
            return Result(
                status: result.status, headers: result.headers, body: body, bodyEncoding: encoding, bodyBytes: result.bodyBytes,
                durationSeconds: result.durationSeconds
            )
        }
    }

    /// The answer's body as bytes, when the report carries it.
    public var resultBody: Data? {
        guard let result, let body = result.body else { return nil }
        return result.bodyEncoding == "base64" ? Data(base64Encoded: body) : Data(body.utf8)
    }
}

/// The answer of `GET /system/async`: the counts per status (for the function, when filtered by
/// one) and the newest calls matching the filter, without bodies.
public struct AsyncCallList: Codable, Sendable, Equatable {
    /// Calls per status.
    public var counts: [String: Int]
    /// The calls, newest first.
    public var calls: [AsyncCallReport]

    /// Creates a list.
    public init(counts: [AsyncCallStatus: Int], calls: [AsyncCallReport]) {
        self.counts = Dictionary(uniqueKeysWithValues: AsyncCallStatus.allCases.map { ($0.rawValue, counts[$0] ?? 0) })
        self.calls = calls
    }
}
