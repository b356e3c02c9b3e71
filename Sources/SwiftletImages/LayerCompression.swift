import Foundation
import SwiftletCore

/// How a layer blob is compressed.
public enum LayerCompression: String, Sendable, Hashable {
    /// A plain tar.
    case none
    /// A gzip'd tar.
    case gzip

    /// The compression of a layer of `mediaType`; zstd and unknown types throw `.unsupported`.
    ///
    /// Non-distributable OCI layers (`…nondistributable.v1.tar+gzip`) are treated like the others.
    public init(mediaType: String) throws(SwiftletError) {
        let plain = mediaType.replacingOccurrences(of: ".nondistributable.", with: ".")
        switch plain {
        case ImageMediaType.ociLayer, "application/vnd.docker.image.rootfs.diff.tar":
            self = .none
        case ImageMediaType.ociLayerGzip, ImageMediaType.dockerLayerGzip, ImageMediaType.dockerForeignLayerGzip:
            self = .gzip
        case ImageMediaType.ociLayerZstd:
            throw SwiftletError(
                .unsupported,
                "the image has a zstd-compressed layer, which Swiftlet does not support yet; rebuild or push it with gzip (`docker buildx build --output type=image,compression=gzip,force-compression=true …`)"
            )
        default:
            throw SwiftletError(
                .unsupported,
                "the image has a layer of media type '\(mediaType.prefix(120))', which Swiftlet cannot unpack; only tar and tar+gzip layers are supported"
            )
        }
    }

    /// The OCI media type of a layer with this compression.
    public var ociMediaType: String { self == .gzip ? ImageMediaType.ociLayerGzip : ImageMediaType.ociLayer }

    /// The compression recognized from the first bytes of a blob; zstd throws `.unsupported`.
    static func sniff(_ prefix: [UInt8]) throws(SwiftletError) -> LayerCompression {
        if prefix.starts(with: [0x1F, 0x8B]) { return .gzip }
        if prefix.starts(with: [0x28, 0xB5, 0x2F, 0xFD]) {
            throw SwiftletError(
                .unsupported,
                "the image has a zstd-compressed layer, which Swiftlet does not support yet; re-export it with gzip layers"
            )
        }
        return .none
    }
}
