import Foundation

/// Exponential back-off with jitter: the delay before attempt `n + 1` is
/// `min(maximum, initial × 2^(n-1))`, scaled by a random factor in `jitter…1` so that calls
/// failing together do not retry together. A `Retry-After` from the function is a floor
/// (itself capped at `maximum` by the caller).
///
/// ```swift
/// let delay = RetryPolicy().delay(afterAttempt: 3, random: { Double.random(in: $0) })  // 2–4 s
/// ```
public struct RetryPolicy: Sendable, Equatable {
    /// The delay after the first failed attempt, before jitter.
    public var initial: Duration
    /// The longest delay, before jitter.
    public var maximum: Duration
    /// The smallest random factor (0…1); 1 turns jitter off.
    public var jitter: Double

    /// Creates a policy.
    public init(initial: Duration = .seconds(1), maximum: Duration = .seconds(300), jitter: Double = 0.5) {
        self.initial = initial
        self.maximum = maximum
        self.jitter = Swift.min(1, Swift.max(0, jitter))
    }

    /// The delay after failed attempt `attempt` (1 for the first), at least `floor`.
    /// `random` returns a number in the range it is given (injected so tests are exact).
    public func delay(afterAttempt attempt: Int, floor: Duration = .zero, random: (ClosedRange<Double>) -> Double) -> Duration {
        let exponent = Swift.min(Swift.max(attempt - 1, 0), 40)
        let base = Swift.min(initial.inSeconds * pow(2, Double(exponent)), maximum.inSeconds)
        let factor = jitter >= 1 ? 1 : random(jitter...1)
        let seconds = Swift.max(base * factor, floor.inSeconds)
        return .milliseconds(Int64((seconds * 1000).rounded()))
    }
}
