/// An OCI image index or a Docker manifest list: one manifest per platform.
public struct OCIIndex: Codable, Sendable, Hashable {
    /// Always 2.
    public var schemaVersion: Int
    /// The media type, when the index states it.
    public var mediaType: String?
    /// The manifests (or nested indexes), one per platform.
    public var manifests: [OCIDescriptor]
    /// Free-form annotations.
    public var annotations: [String: String]?

    /// Creates an index.
    public init(
        schemaVersion: Int = 2, mediaType: String? = ImageMediaType.ociIndex, manifests: [OCIDescriptor], annotations: [String: String]? = nil
    ) {
        self.schemaVersion = schemaVersion
        self.mediaType = mediaType
        self.manifests = manifests
        self.annotations = annotations
    }

    /// The manifest for `platform`: the same OS and architecture, preferring an exact variant.
    /// Attestation manifests (Docker's `unknown/unknown` provenance entries) are never chosen.
    public func manifest(for platform: OCIPlatform = .host) -> OCIDescriptor? {
        let candidates = manifests.filter { descriptor in
            guard let candidate = descriptor.platform else { return false }
            guard descriptor.annotations?["vnd.docker.reference.type"] != "attestation-manifest" else { return false }
            return candidate.os == platform.os && candidate.architecture == platform.architecture
        }
        if let variant = platform.variant, let exact = candidates.first(where: { $0.platform?.variant == variant }) {
            return exact
        }
        return candidates.first
    }

    /// The platforms this index offers, for error messages.
    var platformList: String {
        let names = manifests.compactMap { $0.platform?.description }.filter { $0 != "unknown/unknown" }
        return names.isEmpty ? "none" : names.joined(separator: ", ")
    }
}
