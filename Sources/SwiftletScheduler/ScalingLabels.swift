import SwiftletCore

/// The OpenFaaS scaling labels Swiftlet reads (`com.openfaas.scale.min`, `…max`).
public struct ScalingLabels: Sendable, Equatable {
    /// The fewest instances (default 1).
    public var min: Int
    /// The most instances (default 20).
    public var max: Int

    /// Reads the labels of `spec`, falling back to the OpenFaaS defaults for absent or bad values.
    public init(_ spec: FunctionSpec) {
        let minValue = spec.labels["com.openfaas.scale.min"].flatMap(Int.init) ?? 1
        let maxValue = spec.labels["com.openfaas.scale.max"].flatMap(Int.init) ?? 20
        self.max = Swift.max(1, Swift.min(maxValue, 100))
        self.min = Swift.max(1, Swift.min(minValue, self.max))
    }
}
