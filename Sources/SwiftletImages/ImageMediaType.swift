/// The media types of images: indexes, manifests, configs and layers, OCI and Docker.
public enum ImageMediaType {
    /// An OCI image index (one manifest per platform).
    public static let ociIndex = "application/vnd.oci.image.index.v1+json"
    /// A Docker manifest list (the Docker form of an index).
    public static let dockerManifestList = "application/vnd.docker.distribution.manifest.list.v2+json"
    /// An OCI image manifest.
    public static let ociManifest = "application/vnd.oci.image.manifest.v1+json"
    /// A Docker image manifest, schema 2.
    public static let dockerManifest = "application/vnd.docker.distribution.manifest.v2+json"
    /// A Docker schema 1 manifest (refused: deprecated and unsigned here).
    public static let dockerManifestSchema1 = "application/vnd.docker.distribution.manifest.v1+prettyjws"
    /// An OCI image config.
    public static let ociConfig = "application/vnd.oci.image.config.v1+json"
    /// A Docker image config.
    public static let dockerConfig = "application/vnd.docker.container.image.v1+json"
    /// An uncompressed OCI layer.
    public static let ociLayer = "application/vnd.oci.image.layer.v1.tar"
    /// A gzip OCI layer.
    public static let ociLayerGzip = "application/vnd.oci.image.layer.v1.tar+gzip"
    /// A zstd OCI layer (refused: not supported yet).
    public static let ociLayerZstd = "application/vnd.oci.image.layer.v1.tar+zstd"
    /// A gzip Docker layer.
    public static let dockerLayerGzip = "application/vnd.docker.image.rootfs.diff.tar.gzip"
    /// A gzip Docker "foreign" layer.
    public static let dockerForeignLayerGzip = "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip"

    /// True for an OCI index or a Docker manifest list.
    public static func isIndex(_ mediaType: String) -> Bool {
        mediaType == ociIndex || mediaType == dockerManifestList
    }

    /// True for an OCI manifest or a Docker schema 2 manifest.
    public static func isManifest(_ mediaType: String) -> Bool {
        mediaType == ociManifest || mediaType == dockerManifest
    }
}
