import Foundation
import Logging
import SwiftletCore

/// Applies image layers, lowest first, to a new rootfs directory, following the OCI image spec:
/// `.wh.<name>` whiteouts delete what lower layers put there, `.wh..wh..opq` makes a directory
/// opaque (lower contents cleared), everything else is added or replaced.
///
/// Safety: every path is cleaned lexically (`./usr/bin` and `/usr/bin` become `usr/bin`); a path
/// climbing above the root with `..` is refused. The tree is only ever changed through directory
/// descriptors, one component at a time, never following a symlink (``RootDirectory``): symlinks may
/// hold any target text (absolute targets are normal and resolve inside the container at run
/// time), but a layer that writes, links or deletes *through* a symlink — its own or a lower
/// layer's — is refused. Hard links must name an existing non-directory inside the root. Device
/// nodes and FIFOs are skipped with a logged note. Unknown entry types are refused.
///
/// Ownership and metadata: files are created owned by the unpacking user (root in production),
/// not the layer's uid/gid, and made readable by everyone (and executable by everyone when any
/// execute bit was set), so an image whose `User` is not root can still read its files;
/// setuid, setgid and sticky bits are dropped; directories are `mode | 0755`. Modification
/// times and extended attributes (file capabilities included) are not applied.
///
/// Streaming: layers are read in bounded chunks and gzip is decompressed through a fixed window;
/// the layer's blob digest and, when given, its uncompressed `diff_id` are computed on the way
/// and checked. The rootfs is built in a staging directory and renamed into place at the end; on
/// any failure the staging directory is removed, so nothing half-written is ever visible.
public struct LayerUnpacker: Sendable {
    /// Bounds on one unpacked image (all its layers together).
    public struct Limits: Sendable {
        /// The most bytes all regular files may hold (default 4 GiB).
        public var maxUnpackedBytes: Int64
        /// The most tar entries (default 500,000).
        public var maxEntries: Int

        /// Creates limits.
        public init(maxUnpackedBytes: Int64 = 4 << 30, maxEntries: Int = 500_000) {
            self.maxUnpackedBytes = maxUnpackedBytes
            self.maxEntries = maxEntries
        }

        /// The most bytes one decompressed layer stream may have: file contents plus headers and padding.
        var maxStreamBytes: Int64 { maxUnpackedBytes + Int64(maxEntries) * 2048 + (64 << 20) }
    }

    /// One layer blob to apply.
    public struct Layer: Sendable, Hashable {
        /// The blob file (plain or gzip'd tar).
        public var path: String
        /// The layer's media type from the manifest.
        public var mediaType: String
        /// The blob digest from the manifest, checked while reading.
        public var digest: Digest
        /// The uncompressed digest from the config (`rootfs.diff_ids`), checked when given.
        public var diffID: Digest?

        /// Creates a layer.
        public init(path: String, mediaType: String, digest: Digest, diffID: Digest?) {
            self.path = path
            self.mediaType = mediaType
            self.digest = digest
            self.diffID = diffID
        }
    }

    /// What an unpack did.
    public struct Summary: Sendable, Hashable {
        /// Tar entries read (whiteouts included).
        public var entries = 0
        /// Bytes of regular files written.
        public var bytes: Int64 = 0
        /// Paths skipped: device nodes and FIFOs.
        public var skipped: [String] = []
    }

    /// The limits applied.
    public var limits: Limits
    private let logger: Logger

    /// Creates an unpacker that logs skipped entries to `logger`.
    public init(limits: Limits = Limits(), logger: Logger) {
        self.limits = limits
        self.logger = logger
    }

    /// Applies `layers` in order into `destination`, which must not exist yet; it appears only
    /// when complete. If `destination` appears meanwhile (a concurrent unpack of the same image
    /// won), the work is discarded and that directory is kept.
    @discardableResult
    public func unpack(_ layers: [Layer], into destination: String) throws(SwiftletError) -> Summary {
        let fm = FileManager.default
        guard !fm.fileExists(atPath: destination) else {
            throw SwiftletError(.conflict, "\(destination) already exists; remove it before unpacking the image again")
        }
        let url = URL(fileURLWithPath: destination)
        let parent = url.deletingLastPathComponent().path
        let staging = parent + "/.staging-" + url.lastPathComponent + "-" + String(UInt64.random(in: 0...UInt64.max), radix: 16)
        do {
            try fm.createDirectory(atPath: parent, withIntermediateDirectories: true)
            try fm.createDirectory(atPath: staging, withIntermediateDirectories: false, attributes: [.posixPermissions: 0o755])
        } catch {
            throw SwiftletError(
                .internal, "cannot create \(staging); check free disk space and the permissions of the data directory", cause: error
            )
        }
        do throws(SwiftletError) {
            let root = try RootDirectory(path: staging, context: "the image")
            var summary = Summary()
            for (i, layer) in layers.enumerated() {
                root.context = "layer \(i + 1) of \(layers.count) (\(layer.digest))"
                var applier = LayerApplier(root: root, limits: limits, summary: summary)
                let skippedBefore = summary.skipped.count
                try applier.apply(layer)
                summary = applier.summary
                if summary.skipped.count > skippedBefore {
                    logger.notice(
                        "skipped device nodes and FIFOs: images cannot create them",
                        metadata: [
                            "swiftlet.layer": "\(layer.digest)",
                            "swiftlet.skipped": "\(summary.skipped[skippedBefore...].prefix(10).joined(separator: ", "))",
                        ]
                    )
                }
            }
            guard rename(staging, destination) == 0 else {
                let code = errno
                try? RootDirectory.removeTree(atPath: staging)
                if fm.fileExists(atPath: destination) { return summary }
                throw Syscall.failure("cannot move the unpacked image into \(destination)", errno: code)
            }
            return summary
        } catch {
            try? RootDirectory.removeTree(atPath: staging)
            throw error
        }
    }
}
