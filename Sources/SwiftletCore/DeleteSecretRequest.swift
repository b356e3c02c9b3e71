/// The body of `DELETE /system/secrets`: `{"name"}`, with an optional namespace.
public struct DeleteSecretRequest: Codable, Sendable, Equatable {
    /// The secret to delete.
    public var name: String
    /// Its namespace (default `openfaas-fn`).
    public var namespace: String?

    /// Creates a request.
    public init(name: String, namespace: String? = nil) {
        self.name = name
        self.namespace = namespace
    }
}
