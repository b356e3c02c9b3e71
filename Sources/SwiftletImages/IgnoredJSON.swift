/// A JSON value whose content does not matter (the `{}` values of `ExposedPorts`); it encodes as `{}`.
public struct IgnoredJSON: Codable, Sendable, Hashable {
    /// Creates the value.
    public init() {}

    /// Accepts any JSON value.
    public init(from decoder: any Decoder) throws {}

    /// Encodes `{}`.
    public func encode(to encoder: any Encoder) throws {
        _ = encoder.container(keyedBy: EmptyKey.self)
    }

    private struct EmptyKey: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }
}
