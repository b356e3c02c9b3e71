/// Swiftlet's labels for a function's async calls: `com.swiftlet.async.concurrency` (calls of
/// this function the queue runs at once, default 4) and `com.swiftlet.async.max-attempts`
/// (attempts before a call is dead, default 5).
public struct AsyncLabels: Sendable, Equatable {
    /// Calls of this function the workers run at once.
    public var concurrency: Int
    /// Attempts before a call that keeps failing with a retryable error is dead.
    public var maxAttempts: Int

    /// The label names.
    public enum Key {
        public static let concurrency = "com.swiftlet.async.concurrency"
        public static let maxAttempts = "com.swiftlet.async.max-attempts"
    }

    /// The defaults.
    public static let defaultConcurrency = 4
    public static let defaultMaxAttempts = 5

    /// Reads `labels`, throwing a clear error for a value that does not parse or is out of range.
    public init(validating labels: [String: String]) throws(SwiftletError) {
        concurrency = try LabelValue.integer(labels, Key.concurrency, Self.defaultConcurrency, range: 1...1000)
        maxAttempts = try LabelValue.integer(labels, Key.maxAttempts, Self.defaultMaxAttempts, range: 1...100)
    }

    /// Reads `spec`'s labels; values that do not parse (functions stored before validation
    /// existed) fall back to the defaults.
    public init(_ spec: FunctionSpec) {
        self = (try? AsyncLabels(validating: spec.labels)) ?? AsyncLabels()
    }

    /// The defaults.
    public init() {
        concurrency = Self.defaultConcurrency
        maxAttempts = Self.defaultMaxAttempts
    }
}
