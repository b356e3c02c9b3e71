/// The media types a registry pull understands.
public enum RegistryMediaType {
    /// An OCI image index (a list of per-platform manifests).
    public static let ociIndex = "application/vnd.oci.image.index.v1+json"
    /// An OCI image manifest.
    public static let ociManifest = "application/vnd.oci.image.manifest.v1+json"
    /// A Docker manifest list (the Docker form of an index).
    public static let dockerManifestList = "application/vnd.docker.distribution.manifest.list.v2+json"
    /// A Docker image manifest, schema 2.
    public static let dockerManifest = "application/vnd.docker.distribution.manifest.v2+json"
    /// The `Accept` header value for manifest requests: every manifest type above.
    public static let manifestAccept = [ociIndex, ociManifest, dockerManifestList, dockerManifest].joined(separator: ", ")

    /// An uncompressed OCI layer.
    public static let ociLayer = "application/vnd.oci.image.layer.v1.tar"
    /// A gzip OCI layer.
    public static let ociLayerGzip = "application/vnd.oci.image.layer.v1.tar+gzip"
    /// A zstd OCI layer (not supported by Swiftlet yet).
    public static let ociLayerZstd = "application/vnd.oci.image.layer.v1.tar+zstd"
    /// A gzip Docker layer.
    public static let dockerLayerGzip = "application/vnd.docker.image.rootfs.diff.tar.gzip"
    /// A gzip Docker "foreign" layer (served by the registry like any other layer here).
    public static let dockerForeignLayerGzip = "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip"

    /// The layer types a pull stores: plain tar and gzip tar.
    public static let supportedLayers: Set<String> = [ociLayer, ociLayerGzip, dockerLayerGzip, dockerForeignLayerGzip]

    /// True if `mediaType` names an index or a manifest list.
    static func isIndex(_ mediaType: String) -> Bool { mediaType == ociIndex || mediaType == dockerManifestList }
    /// True if `mediaType` names a single-platform image manifest.
    static func isManifest(_ mediaType: String) -> Bool { mediaType == ociManifest || mediaType == dockerManifest }
}

/// The platform of an index entry (`linux/amd64`, `linux/arm/v7`).
public struct RegistryPlatform: Codable, Sendable, Hashable, CustomStringConvertible {
    /// The CPU architecture (`amd64`, `arm64`).
    public var architecture: String
    /// The operating system (`linux`).
    public var os: String
    /// The CPU variant (`v7`, `v8`), if any.
    public var variant: String?

    /// Creates a platform.
    public init(os: String, architecture: String, variant: String? = nil) {
        self.os = os
        self.architecture = architecture
        self.variant = variant
    }

    /// `linux/amd64`, the platform Swiftlet runs images on.
    public static let linuxAmd64 = RegistryPlatform(os: "linux", architecture: "amd64")

    /// `os/architecture[/variant]`.
    public var description: String { [os, architecture, variant].compactMap { $0 }.joined(separator: "/") }

    /// True if `other` is this platform; a wanted platform without a variant accepts any variant.
    func accepts(_ other: RegistryPlatform) -> Bool {
        os == other.os && architecture == other.architecture && (variant == nil || variant == other.variant)
    }
}

/// A content descriptor: what a manifest or index points at.
public struct RegistryDescriptor: Codable, Sendable, Hashable {
    /// The media type of the content.
    public var mediaType: String
    /// The content digest (`sha256:<hex>`).
    public var digest: String
    /// The content size in bytes.
    public var size: Int64
    /// The platform, for index entries.
    public var platform: RegistryPlatform?
    /// Free-form annotations.
    public var annotations: [String: String]?

    /// Creates a descriptor.
    public init(
        mediaType: String, digest: String, size: Int64, platform: RegistryPlatform? = nil, annotations: [String: String]? = nil
    ) {
        self.mediaType = mediaType
        self.digest = digest
        self.size = size
        self.platform = platform
        self.annotations = annotations
    }
}

/// An OCI image manifest or Docker schema 2 manifest: one config and its layers.
public struct RegistryManifest: Codable, Sendable, Hashable {
    /// Always 2.
    public var schemaVersion: Int
    /// The manifest media type, when the manifest states it.
    public var mediaType: String?
    /// The image config blob.
    public var config: RegistryDescriptor
    /// The layer blobs, lowest first.
    public var layers: [RegistryDescriptor]

    /// Creates a manifest.
    public init(
        schemaVersion: Int = 2, mediaType: String? = RegistryMediaType.ociManifest, config: RegistryDescriptor, layers: [RegistryDescriptor]
    ) {
        self.schemaVersion = schemaVersion
        self.mediaType = mediaType
        self.config = config
        self.layers = layers
    }
}

/// An OCI image index or Docker manifest list: one manifest per platform.
public struct RegistryIndex: Codable, Sendable, Hashable {
    /// Always 2.
    public var schemaVersion: Int
    /// The index media type, when the index states it.
    public var mediaType: String?
    /// The per-platform manifests.
    public var manifests: [RegistryDescriptor]

    /// Creates an index.
    public init(schemaVersion: Int = 2, mediaType: String? = RegistryMediaType.ociIndex, manifests: [RegistryDescriptor]) {
        self.schemaVersion = schemaVersion
        self.mediaType = mediaType
        self.manifests = manifests
    }
}
