/// An OCI image manifest or a Docker schema 2 manifest: one config and its layers.
public struct OCIManifest: Codable, Sendable, Hashable {
    /// Always 2.
    public var schemaVersion: Int
    /// The media type, when the manifest states it.
    public var mediaType: String?
    /// The image config blob.
    public var config: OCIDescriptor
    /// The layers, lowest first.
    public var layers: [OCIDescriptor]
    /// Free-form annotations.
    public var annotations: [String: String]?

    /// Creates a manifest.
    public init(
        schemaVersion: Int = 2, mediaType: String? = ImageMediaType.ociManifest, config: OCIDescriptor, layers: [OCIDescriptor],
        annotations: [String: String]? = nil
    ) {
        self.schemaVersion = schemaVersion
        self.mediaType = mediaType
        self.config = config
        self.layers = layers
        self.annotations = annotations
    }
}
