/// A stored secret as the API lists it (`GET /system/secrets`): its name and namespace, never
/// its value.
public struct SecretInfo: Codable, Sendable, Equatable {
    /// The secret's name.
    public var name: String
    /// Its namespace.
    public var namespace: String

    /// Creates an entry.
    public init(name: String, namespace: String = FunctionName.defaultNamespace) {
        self.name = name
        self.namespace = namespace
    }
}
