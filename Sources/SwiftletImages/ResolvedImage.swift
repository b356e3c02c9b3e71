/// An image ready to run: its normalized reference, manifest digest, run config and unpacked rootfs.
public struct ResolvedImage: Sendable {
    /// The normalized reference (`docker.io/library/busybox:latest`).
    public var reference: String
    /// The digest of the single-platform manifest (`sha256:…`).
    public var manifestDigest: String
    /// How to run the image.
    public var config: ImageConfig
    /// The unpacked rootfs directory, shared by every instance of the image; treat it as read-only.
    public var rootfs: String

    /// Creates a resolved image.
    public init(reference: String, manifestDigest: String, config: ImageConfig, rootfs: String) {
        self.reference = reference
        self.manifestDigest = manifestDigest
        self.config = config
        self.rootfs = rootfs
    }
}
