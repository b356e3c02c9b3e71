import SwiftletCore

/// A manifest blob, which is either an index (pick a platform) or a single-platform manifest.
public enum ManifestDocument: Sendable, Hashable {
    /// An OCI index or Docker manifest list.
    case index(OCIIndex)
    /// An OCI or Docker schema 2 manifest.
    case manifest(OCIManifest)

    /// Decodes `data`, telling an index from a manifest by its `mediaType` (or, when absent, by its fields).
    /// Schema 1 manifests and other artifacts throw `.unsupported`; malformed JSON throws `.invalidInput`.
    public static func decode(_ data: [UInt8], what: String) throws(SwiftletError) -> ManifestDocument {
        struct Probe: Decodable {
            var schemaVersion: Int?
            var mediaType: String?
            var manifests: [IgnoredJSON]?
            var layers: [IgnoredJSON]?
        }
        let probe = try JSONCoding.decode(Probe.self, from: data, what: what)
        if probe.schemaVersion == 1 || probe.mediaType == ImageMediaType.dockerManifestSchema1 {
            throw SwiftletError(
                .unsupported,
                "\(what) is a Docker schema 1 manifest, which is not supported; push or save the image again with a current Docker"
            )
        }
        if let mediaType = probe.mediaType, !ImageMediaType.isIndex(mediaType), !ImageMediaType.isManifest(mediaType) {
            throw SwiftletError(
                .unsupported,
                "\(what) has the media type '\(mediaType.prefix(120))', which is not an image manifest or index"
            )
        }
        if probe.mediaType.map(ImageMediaType.isIndex) ?? (probe.manifests != nil && probe.layers == nil) {
            return .index(try JSONCoding.decode(OCIIndex.self, from: data, what: what))
        }
        return .manifest(try JSONCoding.decode(OCIManifest.self, from: data, what: what))
    }
}
