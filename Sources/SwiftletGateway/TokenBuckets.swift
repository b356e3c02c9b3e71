import NIOConcurrencyHelpers
import SwiftletCore

/// Token buckets by key (a client address, a function), refilled continuously. Thread-safe and
/// bounded: past `maxKeys` buckets, full ones (keys that have been quiet) are dropped.
public final class TokenBuckets: Sendable {
    private struct Bucket {
        var tokens: Double
        var updated: ContinuousClock.Instant
    }

    private let rate: GatewayLimits.Rate
    private let maxKeys: Int
    private let buckets = NIOLockedValueBox<[String: Bucket]>([:])

    /// Buckets of `rate`, at most `maxKeys` of them at once.
    public init(rate: GatewayLimits.Rate, maxKeys: Int = 100_000) {
        self.rate = rate
        self.maxKeys = maxKeys
    }

    /// Takes a token for `key` at `now`: nil when allowed, else how long until one is free.
    public func take(_ key: String, now: ContinuousClock.Instant = .now) -> Duration? {
        buckets.withLockedValue { buckets in
            var bucket = buckets[key] ?? Bucket(tokens: rate.burst, updated: now)
            let elapsed = Double((now - bucket.updated).inNanoseconds) / 1e9
            bucket.tokens = min(rate.burst, bucket.tokens + max(0, elapsed) * rate.perSecond)
            bucket.updated = now
            if bucket.tokens >= 1 {
                bucket.tokens -= 1
                if buckets[key] == nil && buckets.count >= maxKeys { Self.evictFull(&buckets, rate: rate, now: now) }
                buckets[key] = bucket
                return nil
            }
            buckets[key] = bucket
            let seconds = (1 - bucket.tokens) / rate.perSecond
            return .nanoseconds(Int64((seconds * 1e9).rounded(.up)))
        }
    }

    /// How many keys are tracked (for tests).
    public var count: Int { buckets.withLockedValue { $0.count } }

    private static func evictFull(_ buckets: inout [String: Bucket], rate: GatewayLimits.Rate, now: ContinuousClock.Instant) {
        // A bucket that would be full by now holds nothing worth remembering.
        buckets = buckets.filter { _, bucket in
            bucket.tokens + Double((now - bucket.updated).inNanoseconds) / 1e9 * rate.perSecond < rate.burst
        }
        // Still too many (a flood of distinct keys): start over rather than grow.
        if buckets.count >= 100_000 { buckets.removeAll(keepingCapacity: true) }
    }
}
