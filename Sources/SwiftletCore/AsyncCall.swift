import Foundation

/// Where an async call is in its life.
public enum AsyncCallStatus: String, Sendable, Codable, CaseIterable {
    /// Waiting for a worker (new, or waiting out a retry's back-off).
    case queued
    /// A worker holds its lease and is calling the function.
    case running
    /// The function answered with a status below 400.
    case succeeded
    /// The function gave a final error answer (a 4xx other than 429, a 500, …) or could not be
    /// called at all (it was removed): not retried.
    case failed
    /// Every attempt failed with a retryable error; `POST /system/async/{id}/retry` re-queues it.
    case dead

    /// Whether no worker will touch the call again on its own.
    public var isFinal: Bool { self == .succeeded || self == .failed || self == .dead }
}

/// One header of a stored request or answer, in order (names may repeat).
public struct HeaderField: Sendable, Codable, Equatable {
    /// The header name as received.
    public var name: String
    /// The value.
    public var value: String

    /// Creates a header field.
    public init(name: String, value: String) {
        self.name = name
        self.value = value
    }
}

/// The request an async call replays against its function.
public struct AsyncRequest: Sendable, Equatable {
    /// The HTTP method.
    public var method: String
    /// The path inside the function, with the query (`/` when none was given).
    public var path: String
    /// The headers to send (hop-by-hop headers already removed).
    public var headers: [HeaderField]
    /// The body (empty in lists, which load no bodies).
    public var body: Data
    /// The body's size, also when it was not loaded.
    public var bodyBytes: Int

    /// Creates a request; `bodyBytes` defaults to the body's size.
    public init(method: String, path: String, headers: [HeaderField], body: Data, bodyBytes: Int? = nil) {
        self.method = method
        self.path = path
        self.headers = headers
        self.body = body
        self.bodyBytes = bodyBytes ?? body.count
    }
}

/// A function's answer to an async call, or what stood in for it.
public struct AsyncResult: Sendable, Equatable {
    /// The HTTP status the function answered (503 when it could not be called).
    public var status: Int
    /// The answer's headers.
    public var headers: [HeaderField]
    /// The answer's body (empty in lists, which load no bodies).
    public var body: Data
    /// The body's size, also when it was not loaded.
    public var bodyBytes: Int
    /// How long the attempt took, in seconds.
    public var durationSeconds: Double

    /// Creates a result; `bodyBytes` defaults to the body's size.
    public init(status: Int, headers: [HeaderField], body: Data, bodyBytes: Int? = nil, durationSeconds: Double) {
        self.status = status
        self.headers = headers
        self.body = body
        self.bodyBytes = bodyBytes ?? body.count
        self.durationSeconds = durationSeconds
    }
}

/// The delivery of an async call's result to its `X-Callback-Url`.
public struct CallbackState: Sendable, Equatable {
    /// Where delivery stands.
    public enum Status: String, Sendable, Codable {
        /// No callback URL was given, or the call has not finished.
        case none
        /// The result waits to be POSTed (first time or after a failed try).
        case pending
        /// The receiver answered 2xx.
        case delivered
        /// Every delivery attempt failed.
        case failed
    }

    /// Where delivery stands.
    public var status: Status
    /// Delivery attempts so far.
    public var attempts: Int
    /// Why the last attempt failed.
    public var lastError: String?
    /// When the receiver took it.
    public var deliveredAt: Date?

    /// Creates a callback state.
    public init(status: Status = .none, attempts: Int = 0, lastError: String? = nil, deliveredAt: Date? = nil) {
        self.status = status
        self.attempts = attempts
        self.lastError = lastError
        self.deliveredAt = deliveredAt
    }
}

/// An async invocation as the queue stores it: the request, where it stands, and its result.
public struct AsyncCall: Sendable, Equatable {
    /// The call id (`X-Call-Id`).
    public var id: String
    /// The function called.
    public var function: String
    /// The request to replay.
    public var request: AsyncRequest
    /// Where the result is POSTed, if anywhere.
    public var callbackURL: String?
    /// Where the call stands.
    public var status: AsyncCallStatus
    /// Attempts started so far.
    public var attempts: Int
    /// Attempts allowed before the call is dead.
    public var maxAttempts: Int
    /// When the call was accepted.
    public var createdAt: Date
    /// When it last changed.
    public var updatedAt: Date
    /// When it is due: the next attempt (queued) or the lease's end (running).
    public var nextAttemptAt: Date
    /// When the latest attempt started.
    public var startedAt: Date?
    /// When it reached a final status.
    public var finishedAt: Date?
    /// Why the latest attempt failed, if it did.
    public var lastError: String?
    /// The function's answer (the latest one, for a retried call).
    public var result: AsyncResult?
    /// The callback's delivery.
    public var callback: CallbackState

    /// Creates a call record.
    public init(
        id: String, function: String, request: AsyncRequest, callbackURL: String?, status: AsyncCallStatus = .queued,
        attempts: Int = 0, maxAttempts: Int, createdAt: Date, updatedAt: Date? = nil, nextAttemptAt: Date? = nil,
        startedAt: Date? = nil, finishedAt: Date? = nil, lastError: String? = nil, result: AsyncResult? = nil,
        callback: CallbackState = CallbackState()
    ) {
        self.id = id
        self.function = function
        self.request = request
        self.callbackURL = callbackURL
        self.status = status
        self.attempts = attempts
        self.maxAttempts = maxAttempts
        self.createdAt = createdAt
        self.updatedAt = updatedAt ?? createdAt
        self.nextAttemptAt = nextAttemptAt ?? createdAt
        self.startedAt = startedAt
        self.finishedAt = finishedAt
        self.lastError = lastError
        self.result = result
        self.callback = callback
    }
}

/// How a worker's attempt at a call ended, as recorded by the store.
public enum AsyncOutcome: Sendable, Equatable {
    /// The function answered below 400.
    case succeeded(AsyncResult)
    /// A final error: the function's answer (4xx other than 429, 500, …) or why it could not be called.
    case failed(AsyncResult?, error: String?)
    /// A retryable error; try again at the given time.
    case retry(at: Date, error: String, result: AsyncResult?)
    /// A retryable error on the last allowed attempt.
    case dead(AsyncResult?, error: String)
}

/// How one callback delivery attempt ended.
public enum CallbackOutcome: Sendable, Equatable {
    /// The receiver answered 2xx.
    case delivered
    /// It failed; try again at the given time.
    case retry(at: Date, error: String)
    /// It failed and no attempts are left.
    case failed(error: String)
}

/// Which calls `GET /system/async` lists.
public struct AsyncCallFilter: Sendable, Equatable {
    /// Only this function's calls.
    public var function: String?
    /// Only calls in this status.
    public var status: AsyncCallStatus?
    /// At most this many, newest first.
    public var limit: Int

    /// Creates a filter.
    public init(function: String? = nil, status: AsyncCallStatus? = nil, limit: Int = 100) {
        self.function = function
        self.status = status
        self.limit = limit
    }
}
