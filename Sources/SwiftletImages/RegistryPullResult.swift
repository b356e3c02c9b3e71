import Foundation

/// What a pull stored: the resolved manifest, its config and its layers, all verified in the blob store.
public struct RegistryPullResult: Sendable {
    /// The normalized reference that was pulled (`host/repository:tag` or `host/repository@digest`).
    public let reference: String
    /// The digest of the single-platform image manifest (`sha256:<hex>`).
    public let manifestDigest: String
    /// The digest of the index or manifest list the manifest was chosen from, if there was one.
    public let indexDigest: String?
    /// The image manifest bytes, exactly as stored under `manifestDigest`.
    public let manifest: Data
    /// The image config bytes.
    public let config: Data
    /// The layer descriptors, lowest first; every layer is in the blob store.
    public let layers: [RegistryDescriptor]

    /// Creates a result.
    public init(
        reference: String, manifestDigest: String, indexDigest: String?, manifest: Data, config: Data, layers: [RegistryDescriptor]
    ) {
        self.reference = reference
        self.manifestDigest = manifestDigest
        self.indexDigest = indexDigest
        self.manifest = manifest
        self.config = config
        self.layers = layers
    }
}
