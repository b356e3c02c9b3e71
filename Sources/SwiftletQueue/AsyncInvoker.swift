import SwiftletCore

/// How one attempt to call a function went.
public enum AsyncAttempt: Sendable, Equatable {
    /// The function answered (with any status).
    case answered(AsyncResult)
    /// The function could not be called or did not answer: `status` is what a sync call would
    /// have got (404, 429, 502, 503, 504); `retryAfter` is a wait the platform asked for.
    case failed(retryable: Bool, status: Int, message: String, retryAfter: Duration? = nil)
}

/// Calls a function for an async call. The real one goes through the scheduler like a sync call
/// (``SchedulerInvoker``); unit tests use their own.
public protocol AsyncInvoker: Sendable {
    /// Runs one attempt of `call` and reports how it went; never throws.
    func invoke(_ call: AsyncCall) async -> AsyncAttempt
}

/// POSTs an async call's result to its callback URL. The real one uses AsyncHTTPClient
/// (``HTTPCallbackSender``); unit tests record what they get.
public protocol CallbackSender: Sendable {
    /// Delivers `call`'s result to `call.callbackURL` and returns the receiver's status code;
    /// throws when the receiver could not be reached or did not answer in time.
    func deliver(_ call: AsyncCall) async throws -> Int
}
