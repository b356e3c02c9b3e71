import Foundation
import SwiftletCore
import SwiftletQueue
import Testing

/// Which attempts succeed, are retried (and when) or are final, with a fixed `now` and `random`.
@Suite("Async retry rules")
struct AsyncRetryRulesTests {
    static let now = Date(timeIntervalSince1970: 1_700_000_000)
    static let policy = RetryPolicy(initial: .seconds(1), maximum: .seconds(60), jitter: 0.5)
    /// Always the lowest jitter factor: delays are half the exponential value.
    static func lowest(_ range: ClosedRange<Double>) -> Double { range.lowerBound }

    /// A call on its `attempts`-th attempt of `maxAttempts`.
    static func call(attempts: Int, maxAttempts: Int = 5) -> AsyncCall {
        AsyncCall(
            id: "c1", function: "f", request: AsyncRequest(method: "POST", path: "/", headers: [], body: Data()), callbackURL: nil,
            status: .running, attempts: attempts, maxAttempts: maxAttempts, createdAt: now
        )
    }

    static func outcome(_ attempt: AsyncAttempt, attempts: Int = 1, maxAttempts: Int = 5) -> AsyncOutcome {
        AsyncRetryRules.outcome(
            of: attempt, call: call(attempts: attempts, maxAttempts: maxAttempts), now: now, policy: policy, random: lowest)
    }

    static func answer(_ status: Int, retryAfter: String? = nil, headerName: String = "Retry-After") -> AsyncResult {
        AsyncResult(
            status: status, headers: retryAfter.map { [HeaderField(name: headerName, value: $0)] } ?? [], body: Data("x".utf8),
            durationSeconds: 0.1)
    }

    @Test("answers below 400 succeed", arguments: [200, 201, 202, 204, 301, 302, 304, 399])
    func success(_ status: Int) {
        #expect(Self.outcome(.answered(Self.answer(status))) == .succeeded(Self.answer(status)))
        #expect(Self.outcome(.answered(Self.answer(status)), attempts: 5, maxAttempts: 5) == .succeeded(Self.answer(status)))
    }

    @Test("429, 502, 503 and 504 answers are retried after the policy's delay", arguments: [429, 502, 503, 504])
    func retryableAnswers(_ status: Int) {
        let result = Self.answer(status)
        // Attempt 3 of 5: 1 s × 2² = 4 s, × 0.5 jitter = 2 s.
        #expect(
            Self.outcome(.answered(result), attempts: 3)
                == .retry(at: Self.now.addingTimeInterval(2), error: "the function answered \(status)", result: result)
        )
        #expect(
            Self.outcome(.answered(result), attempts: 1)
                == .retry(at: Self.now.addingTimeInterval(0.5), error: "the function answered \(status)", result: result)
        )
    }

    @Test("the delay is exactly the policy's, with the injected random factor")
    func retryUsesThePolicy() {
        let policy = RetryPolicy(initial: .milliseconds(5), maximum: .milliseconds(20), jitter: 0.5)
        for attempts in 1...4 {
            let outcome = AsyncRetryRules.outcome(
                of: .answered(Self.answer(503)), call: Self.call(attempts: attempts), now: Self.now, policy: policy, random: { _ in 0.8 }
            )
            let delay = policy.delay(afterAttempt: attempts, random: { _ in 0.8 })
            #expect(delay == .milliseconds([4, 8, 16, 16][attempts - 1]))
            #expect(
                outcome
                    == .retry(
                        at: Self.now.addingTimeInterval(delay.inSeconds), error: "the function answered 503", result: Self.answer(503)))
        }
    }

    @Test("Retry-After is a floor for the delay")
    func retryAfterFloor() {
        let late = Self.answer(503, retryAfter: "10")
        #expect(
            Self.outcome(.answered(late)) == .retry(at: Self.now.addingTimeInterval(10), error: "the function answered 503", result: late))
        // A shorter Retry-After leaves the policy's delay alone.
        let early = Self.answer(429, retryAfter: " 1 ")
        #expect(
            Self.outcome(.answered(early), attempts: 3)
                == .retry(at: Self.now.addingTimeInterval(2), error: "the function answered 429", result: early))
        // The header name is case-insensitive.
        let lower = Self.answer(503, retryAfter: "7", headerName: "retry-after")
        #expect(
            Self.outcome(.answered(lower)) == .retry(at: Self.now.addingTimeInterval(7), error: "the function answered 503", result: lower))
        // A floor longer than the policy's maximum is capped at the maximum.
        let huge = Self.answer(503, retryAfter: "86400")
        #expect(
            Self.outcome(.answered(huge)) == .retry(at: Self.now.addingTimeInterval(60), error: "the function answered 503", result: huge))
        // An HTTP-date or a negative Retry-After is no floor.
        for value in ["Wed, 21 Oct 2015 07:28:00 GMT", "-5", "soon"] {
            let odd = Self.answer(503, retryAfter: value)
            #expect(
                Self.outcome(.answered(odd))
                    == .retry(at: Self.now.addingTimeInterval(0.5), error: "the function answered 503", result: odd))
        }
    }

    @Test("other error answers are final failures", arguments: [400, 401, 403, 404, 405, 409, 413, 422, 500, 501, 505, 599])
    func finalAnswers(_ status: Int) {
        let result = Self.answer(status)
        #expect(Self.outcome(.answered(result)) == .failed(result, error: "the function answered \(status)"))
        #expect(Self.outcome(.answered(result), attempts: 5, maxAttempts: 5) == .failed(result, error: "the function answered \(status)"))
    }

    @Test("a retryable failure to call the function is retried, its retryAfter a floor")
    func retryableFailure() {
        let plain = AsyncAttempt.failed(retryable: true, status: 502, message: "cannot reach the instance")
        #expect(
            Self.outcome(plain, attempts: 2) == .retry(at: Self.now.addingTimeInterval(1), error: "cannot reach the instance", result: nil))
        let busy = AsyncAttempt.failed(retryable: true, status: 429, message: "queue full", retryAfter: .seconds(9))
        #expect(Self.outcome(busy) == .retry(at: Self.now.addingTimeInterval(9), error: "queue full", result: nil))
    }

    @Test("a non-retryable failure is final")
    func nonRetryableFailure() {
        let removed = AsyncAttempt.failed(retryable: false, status: 404, message: "function 'f' not found")
        #expect(Self.outcome(removed) == .failed(nil, error: "function 'f' not found"))
        #expect(Self.outcome(removed, attempts: 5, maxAttempts: 5) == .failed(nil, error: "function 'f' not found"))
    }

    @Test("a retryable error on the last allowed attempt makes the call dead")
    func lastAttemptIsDead() {
        let result = Self.answer(503)
        #expect(
            Self.outcome(.answered(result), attempts: 5, maxAttempts: 5)
                == .dead(result, error: "the function answered 503; gave up after 5 attempts"))
        #expect(
            Self.outcome(.answered(result), attempts: 1, maxAttempts: 1)
                == .dead(result, error: "the function answered 503; gave up after 1 attempt"))
        let failure = AsyncAttempt.failed(retryable: true, status: 504, message: "timed out", retryAfter: .seconds(3))
        #expect(Self.outcome(failure, attempts: 3, maxAttempts: 3) == .dead(nil, error: "timed out; gave up after 3 attempts"))
        // One attempt before the last is still retried.
        #expect(
            Self.outcome(.answered(result), attempts: 4, maxAttempts: 5)
                != .dead(result, error: "the function answered 503; gave up after 4 attempts"))
        if case .retry = Self.outcome(.answered(result), attempts: 4, maxAttempts: 5) {
        } else {
            Issue.record("attempt 4 of 5 was not retried")
        }
    }
}
