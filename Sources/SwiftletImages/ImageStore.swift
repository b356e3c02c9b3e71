import Foundation
import Logging
import SwiftletCore

/// The local image store: verified blobs, an index of references, and unpacked rootfs dirs, laid
/// out as ``ImageLayout`` describes.
///
/// ```swift
/// let store = ImageStore(layout: ImageLayout(dataDirectory: data), logger: logger)
/// try await store.importArchive(path: "busybox.tar")
/// let image = try await store.resolve("busybox")
/// image.rootfs   // DATA/images/rootfs/<manifest hex>
/// ```
///
/// Blobs are never removed when a reference goes; ``garbageCollect(dryRun:)`` removes what no
/// reference uses. It refuses to run while this store imports or unpacks; a pull or import in
/// another process that has written blobs but not registered them yet is not seen, so run it
/// when no pull is in progress.
public actor ImageStore {
    /// The on-disk layout.
    public nonisolated let layout: ImageLayout
    /// The blobs.
    public nonisolated let blobs: BlobStore
    /// The platform chosen from multi-platform images (this machine's).
    public nonisolated let platform: OCIPlatform
    let logger: Logger
    let unpacker: LayerUnpacker
    private var unpacking: [Digest: Task<LayerUnpacker.Summary?, any Error>] = [:]
    /// Imports and unpacks in flight: garbage collection waits for none.
    var busy = 0

    /// Creates the store of `layout`, logging to `logger`.
    public init(layout: ImageLayout, logger: Logger, limits: LayerUnpacker.Limits = LayerUnpacker.Limits(), platform: OCIPlatform = .host) {
        self.layout = layout
        self.blobs = BlobStore(layout: layout)
        self.logger = logger
        self.unpacker = LayerUnpacker(limits: limits, logger: logger)
        self.platform = platform
    }

    /// Imports a `docker save` tarball or an OCI image-layout tarball (plain or gzip'd). The images
    /// are named by the archive (`RepoTags`, or the `io.containerd.image.name` /
    /// `org.opencontainers.image.ref.name` annotations); `tag` (a reference such as `hello:1.0`)
    /// names the archive's only image instead. A refused archive changes nothing.
    @discardableResult
    public func importArchive(path: String, tag: String? = nil) async throws(SwiftletError) -> [StoredImage] {
        busy += 1
        defer { busy -= 1 }
        let importer = ArchiveImporter(blobs: blobs, limits: unpacker.limits, platform: platform)
        let imported = try await BlockingIO.run { () throws(SwiftletError) in try importer.importArchive(path: path, tag: tag) }
        for image in imported {
            for reference in image.references {
                try register(reference: reference, manifestDigest: image.manifest)
            }
        }
        let names = Set(imported.flatMap { $0.references.map(\.description) })
        return try list().filter { names.contains($0.reference) }
    }

    /// Names the image whose manifest (or index) `manifestDigest` is in the blob store, with its
    /// config and layers, as `reference`. A registry pull calls this after storing the blobs.
    /// Throws `.invalidInput` if a blob is missing.
    public func register(reference: ImageReference, manifestDigest: Digest) throws(SwiftletError) {
        _ = try loadImage(manifestDigest, requireLayers: true)
        try ImageIndexFile.update(layout) { (index) throws(SwiftletError) in
            index.references[reference.description] = ImageIndexFile.Entry(digest: manifestDigest, registered: ImageIndexFile.now())
        }
        logger.info("registered image", metadata: ["swiftlet.image": "\(reference)", "swiftlet.digest": "\(manifestDigest)"])
    }

    /// Every reference, sorted.
    public func list() throws(SwiftletError) -> [StoredImage] {
        try ImageIndexFile.load(layout).references.sorted { $0.key < $1.key }.map { reference, entry in
            let image = try? loadImage(entry.digest, requireLayers: false)
            var size = blobs.size(of: entry.digest) ?? 0
            if let image {
                if image.digest != entry.digest { size += blobs.size(of: image.digest) ?? 0 }
                size += image.manifest.config.size + image.manifest.layers.reduce(0) { $0 + $1.size }
            }
            return StoredImage(
                reference: reference, manifestDigest: entry.digest.description, size: size,
                created: image?.configuration.created.flatMap(StoredImage.parseTime)
            )
        }
    }

    /// The manifest digest `reference` names; `.notFound` if the store does not hold it.
    public func manifestDigest(of reference: String) throws(SwiftletError) -> Digest {
        try lookup(reference).digest
    }

    /// Removes `reference` from the index; its blobs and rootfs stay until ``garbageCollect(dryRun:)``.
    public func remove(_ reference: String) throws(SwiftletError) {
        let name = try normalize(reference)
        try ImageIndexFile.update(layout) { (index) throws(SwiftletError) in
            guard index.references.removeValue(forKey: name) != nil else { throw Self.notFound(reference) }
        }
        logger.info("removed image reference", metadata: ["swiftlet.image": "\(name)"])
    }

    /// The image `reference` names, unpacked: the rootfs is built once (later calls, and
    /// concurrent ones, share it). Throws `.notFound` for an unknown reference.
    public func resolve(_ reference: String) async throws(SwiftletError) -> ResolvedImage {
        let (name, digest) = try lookup(reference)
        let image = try loadImage(digest, requireLayers: true)
        let rootfs = layout.rootfs + "/" + image.digest.hex
        if !FileManager.default.fileExists(atPath: rootfs) {
            let task: Task<LayerUnpacker.Summary?, any Error>
            if let running = unpacking[image.digest] {
                task = running
            } else {
                let diffIDs = image.configuration.rootfs.diffIDs
                let layers = image.manifest.layers.enumerated().map { i, layer in
                    LayerUnpacker.Layer(
                        path: blobs.path(for: layer.digest), mediaType: layer.mediaType, digest: layer.digest, diffID: diffIDs[i]
                    )
                }
                let unpacker = self.unpacker
                task = Task {
                    try await BlockingIO.run { () throws(SwiftletError) -> LayerUnpacker.Summary? in
                        guard !FileManager.default.fileExists(atPath: rootfs) else { return nil }
                        return try unpacker.unpack(layers, into: rootfs)
                    }
                }
                unpacking[image.digest] = task
                busy += 1
                let result = await task.result
                unpacking[image.digest] = nil
                busy -= 1
                if case .success(let summary?) = result {
                    logger.info(
                        "unpacked image",
                        metadata: [
                            "swiftlet.image": "\(name)", "swiftlet.rootfs": "\(rootfs)", "swiftlet.entries": "\(summary.entries)",
                            "swiftlet.bytes": "\(summary.bytes)",
                        ]
                    )
                }
            }
            if case .failure(let error) = await task.result, !FileManager.default.fileExists(atPath: rootfs) {
                throw error as? SwiftletError ?? SwiftletError(.internal, "cannot unpack \(name)", cause: error)
            }
        }
        return ResolvedImage(reference: name, manifestDigest: image.digest.description, config: image.configuration.summary, rootfs: rootfs)
    }
}
