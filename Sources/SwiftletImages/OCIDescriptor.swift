/// A content descriptor: what an index or a manifest points at.
public struct OCIDescriptor: Codable, Sendable, Hashable {
    /// The media type of the content.
    public var mediaType: String
    /// The digest of the content.
    public var digest: Digest
    /// The size of the content in bytes.
    public var size: Int64
    /// The platform, for the entries of an index.
    public var platform: OCIPlatform?
    /// Free-form annotations (`org.opencontainers.image.ref.name`, …).
    public var annotations: [String: String]?

    /// Creates a descriptor.
    public init(mediaType: String, digest: Digest, size: Int64, platform: OCIPlatform? = nil, annotations: [String: String]? = nil) {
        self.mediaType = mediaType
        self.digest = digest
        self.size = size
        self.platform = platform
        self.annotations = annotations
    }

    /// The annotation naming an image in an OCI layout (a tag or a full reference).
    public static let refNameAnnotation = "org.opencontainers.image.ref.name"
    /// The annotation containerd and Docker put the full image name in.
    public static let imageNameAnnotation = "io.containerd.image.name"
}
