import Foundation
import SwiftletCore

/// Which attempts are final and when a failed one runs again.
///
/// An answer below 400 succeeds. 429, 502, 503 and 504 (answered, or met on the way to the
/// function) and connection errors are retried with back-off until `maxAttempts`, then the call
/// is dead. Any other answer (a 4xx, a 500) is final: the call failed.
public enum AsyncRetryRules {
    /// The statuses worth another attempt.
    public static let retryableStatuses: Set<Int> = [429, 502, 503, 504]

    /// The outcome of `attempt`, the `call.attempts`-th try of `call`.
    public static func outcome(
        of attempt: AsyncAttempt, call: AsyncCall, now: Date, policy: RetryPolicy, random: (ClosedRange<Double>) -> Double
    ) -> AsyncOutcome {
        switch attempt {
        case .answered(let result):
            if result.status < 400 { return .succeeded(result) }
            let message = "the function answered \(result.status)"
            guard retryableStatuses.contains(result.status) else { return .failed(result, error: message) }
            let retryAfter = result.headers.first { $0.name.lowercased() == "retry-after" }.flatMap { Int($0.value.trimmingCharacters(in: .whitespaces)) }
            return retryOrDead(call: call, result: result, message: message, retryAfter: retryAfter.map { .seconds(max(0, $0)) }, now: now, policy: policy, random: random)
        case .failed(let retryable, _, let message, let retryAfter):
            guard retryable else { return .failed(nil, error: message) }
            return retryOrDead(call: call, result: nil, message: message, retryAfter: retryAfter, now: now, policy: policy, random: random)
        }
    }

    private static func retryOrDead(
        call: AsyncCall, result: AsyncResult?, message: String, retryAfter: Duration?, now: Date, policy: RetryPolicy,
        random: (ClosedRange<Double>) -> Double
    ) -> AsyncOutcome {
        guard call.attempts < call.maxAttempts else {
            return .dead(result, error: "\(message); gave up after \(call.attempts) attempt\(call.attempts == 1 ? "" : "s")")
        }
        let floor = min(retryAfter ?? .zero, policy.maximum)
        let delay = policy.delay(afterAttempt: call.attempts, floor: floor, random: random)
        return .retry(at: now.addingTimeInterval(delay.inSeconds), error: message, result: result)
    }
}
