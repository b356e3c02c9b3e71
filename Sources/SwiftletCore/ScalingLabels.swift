/// The OpenFaaS scaling labels of a function, with their defaults:
/// `com.openfaas.scale.min` (1), `.max` (20), `.zero` (false), `.zero-duration` (15m),
/// `.target` (10 in-flight calls per instance for `capacity`, 50 requests/s for `rps`) and
/// `.type` (`capacity`), plus Swiftlet's `com.swiftlet.max-queue` (calls held at the gateway when
/// every instance is busy or starting, default 1000).
public struct ScalingLabels: Sendable, Equatable {
    /// What the autoscaler measures.
    public enum Kind: String, Sendable, Equatable {
        /// Calls in flight per instance.
        case capacity
        /// Requests per second per instance.
        case rps
    }

    /// The fewest instances while the function is in use (at least 1).
    public var min: Int
    /// The most instances.
    public var max: Int
    /// Whether an idle function drops to zero instances.
    public var zero: Bool
    /// How long a function must be idle before it drops to zero.
    public var zeroDuration: Duration
    /// The load one instance should carry.
    public var target: Double
    /// What the load is.
    public var kind: Kind
    /// How many calls may wait at the gateway for an instance before 429.
    public var maxQueue: Int

    /// The label names.
    public enum Key {
        public static let min = "com.openfaas.scale.min"
        public static let max = "com.openfaas.scale.max"
        public static let zero = "com.openfaas.scale.zero"
        public static let zeroDuration = "com.openfaas.scale.zero-duration"
        public static let target = "com.openfaas.scale.target"
        public static let type = "com.openfaas.scale.type"
        public static let maxQueue = "com.swiftlet.max-queue"
    }

    /// The most instances Swiftlet runs of one function.
    public static let hardMax = 100

    /// Reads `labels`, throwing a clear error for a value that does not parse or is out of range.
    public init(validating labels: [String: String]) throws(SwiftletError) {
        func integer(_ key: String, _ fallback: Int, range: ClosedRange<Int>) throws(SwiftletError) -> Int {
            try LabelValue.integer(labels, key, fallback, range: range)
        }
        let maxValue = try integer(Key.max, 20, range: 1...Self.hardMax)
        let minValue = try integer(Key.min, 1, range: 0...Self.hardMax)
        guard minValue <= maxValue else {
            throw SwiftletError(.invalidInput, "label \(Key.min) (\(minValue)) is above \(Key.max) (\(maxValue))")
        }
        var zero = false
        if let text = labels[Key.zero] {
            switch text.lowercased() {
            case "true", "1": zero = true
            case "false", "0", "": zero = false
            default: throw SwiftletError(.invalidInput, "label \(Key.zero) is '\(text.prefix(40))'; use true or false")
            }
        }
        var zeroDuration: Duration = .seconds(15 * 60)
        if let text = labels[Key.zeroDuration] {
            let value: Duration
            do {
                value = try ResourceQuantity.duration(text)
            } catch {
                throw SwiftletError(.invalidInput, "label \(Key.zeroDuration) is '\(text.prefix(40))': \(error.message)")
            }
            guard value >= .seconds(1) else {
                throw SwiftletError(.invalidInput, "label \(Key.zeroDuration) is '\(text.prefix(40))'; it must be at least 1s")
            }
            zeroDuration = value
        }
        var kind = Kind.capacity
        if let text = labels[Key.type] {
            guard let value = Kind(rawValue: text.lowercased()) else {
                throw SwiftletError(
                    .invalidInput, "label \(Key.type) is '\(text.prefix(40))'; Swiftlet scales on 'capacity' (calls in flight) or 'rps'; 'cpu' is not supported"
                )
            }
            kind = value
        }
        var target: Double = kind == .capacity ? 10 : 50
        if let text = labels[Key.target] {
            guard let value = Double(text.trimmingCharacters(in: .whitespaces)), value.isFinite, value > 0, value <= 1_000_000 else {
                throw SwiftletError(.invalidInput, "label \(Key.target) is '\(text.prefix(40))'; it must be a positive number")
            }
            target = value
        }
        let maxQueue = try integer(Key.maxQueue, 1000, range: 0...100_000)
        // min 0 is how some clients say "may scale to zero"; instances still start at 1.
        self.min = Swift.max(1, minValue)
        self.max = maxValue
        self.zero = zero || minValue == 0
        self.zeroDuration = zeroDuration
        self.target = target
        self.kind = kind
        self.maxQueue = maxQueue
    }

    /// Reads `spec`'s labels; values that do not parse (only possible for functions stored before
    /// validation existed) fall back to the defaults.
    public init(_ spec: FunctionSpec) {
        self = (try? ScalingLabels(validating: spec.labels)) ?? (try! ScalingLabels(validating: [:]))
    }

    /// The fewest replicas the scale API accepts (0 when the function may scale to zero).
    public var lowestReplicas: Int { zero ? 0 : min }
}
