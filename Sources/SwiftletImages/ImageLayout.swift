/// Where the image store keeps its files under the data directory.
///
/// ```
/// DATA/images/blobs/sha256/<hex>            verified blobs (manifests, configs, layers)
/// DATA/images/blobs/sha256/<hex>.partial    a download in progress (resumable)
/// DATA/images/rootfs/<manifest hex>/        an unpacked, read-only rootfs
/// DATA/images/index.json                    references → manifest digests
/// ```
public struct ImageLayout: Sendable {
    /// The root of the image store (`DATA/images`).
    public let root: String

    /// Creates the layout under `dataDirectory`.
    public init(dataDirectory: String) {
        root = dataDirectory + "/images"
    }

    /// The directory of sha256 blobs.
    public var blobs: String { root + "/blobs/sha256" }
    /// The directory of unpacked rootfs dirs.
    public var rootfs: String { root + "/rootfs" }

    /// The path of the blob with this hex digest.
    public func blob(_ hex: String) -> String { blobs + "/" + hex }
    /// The path of a partial download of this hex digest.
    public func partial(_ hex: String) -> String { blobs + "/" + hex + ".partial" }
}
