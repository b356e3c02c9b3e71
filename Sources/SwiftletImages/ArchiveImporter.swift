import Foundation
import SwiftletCore

/// Imports a `docker save` tarball or an OCI image-layout tarball into a ``BlobStore``.
///
/// The archive is read once, as a stream, into a private staging directory; then every image in
/// it is checked completely — blob digests and sizes, media types (zstd is refused), the config's
/// `diff_ids` against the uncompressed layers — and only then are its blobs moved into the store.
/// A refused archive leaves nothing in the store.
struct ArchiveImporter {
    /// One image the archive holds, checked and ready to store.
    struct PlannedImage {
        /// The names to register (empty when the archive gives none).
        var references: [ImageReference]
        /// A bare tag the archive names the image with, for the error when no name is given.
        var bareTag: String?
        /// The manifest digest to register.
        var manifestDigest: Digest
        /// The manifest bytes, when the importer wrote the manifest itself (`docker save`).
        var manifestBytes: [UInt8]?
        /// The archive members to move into the store.
        var blobs: [Digest: ImageArchive.Member]
    }

    let blobs: BlobStore
    let limits: LayerUnpacker.Limits
    let platform: OCIPlatform

    /// Imports the archive at `path`; `tag` (a full reference) names its only image instead of the
    /// names it carries. Returns each image's references and manifest digest.
    func importArchive(path: String, tag: String?) throws(SwiftletError) -> [(references: [ImageReference], manifest: Digest)] {
        let override = try tag.map { (tag) throws(SwiftletError) in try ImageReference(parsing: tag) }
        try blobs.ensureDirectory()
        let staging = blobs.directory + "/.import-" + String(UInt64.random(in: 0...UInt64.max), radix: 16)
        guard mkdir(staging, 0o700) == 0 else { throw Syscall.failure("cannot create \(staging)") }
        defer { try? RootDirectory.removeTree(atPath: staging) }

        let archive = try ImageArchive.extract(path: path, into: staging, maxEntries: 1_000_000)
        var images: [PlannedImage]
        if archive.member("oci-layout") != nil, archive.member("index.json") != nil {
            images = try planLayout(archive)
        } else if archive.member("manifest.json") != nil {
            images = try planDockerSave(archive)
        } else {
            throw SwiftletError(
                .invalidInput,
                "\(path) is neither a `docker save` archive (manifest.json) nor an OCI image layout (oci-layout, index.json); create one with `docker save IMAGE -o image.tar`"
            )
        }
        guard !images.isEmpty else { throw SwiftletError(.invalidInput, "\(path) holds no image") }
        if let override {
            guard images.count == 1 else {
                throw SwiftletError(
                    .invalidInput,
                    "\(path) holds \(images.count) images but --tag names one; save a single image, or import without --tag to keep the archive's names"
                )
            }
            images[0].references = [override]
        }
        for image in images where image.references.isEmpty {
            if let bareTag = image.bareTag {
                throw SwiftletError(
                    .invalidInput,
                    "\(path) names its image only by the tag '\(bareTag)', without a repository; give the full name with --tag, e.g. `swiftlet image import \(path) --tag myimage:\(bareTag)`"
                )
            }
            throw SwiftletError(
                .invalidInput,
                "\(path) holds an image without a name; give it one with --tag, e.g. `swiftlet image import \(path) --tag myimage:latest`"
            )
        }
        // Everything is checked: only now does anything reach the store.
        for image in images {
            for (digest, member) in image.blobs where !blobs.contains(digest) {
                try blobs.adopt(fileAt: member.file, digest: digest)
            }
            if let bytes = image.manifestBytes {
                try blobs.write(data: bytes, expected: image.manifestDigest, size: Int64(bytes.count))
            }
        }
        return images.map { ($0.references, $0.manifestDigest) }
    }

    /// Checks one image manifest (config, layers, diff_ids) and returns the blobs it needs.
    func checkManifest(
        _ manifest: OCIManifest, digest: Digest, in archive: ImageArchive
    ) throws(SwiftletError) -> [Digest: ImageArchive.Member] {
        let what = "the image manifest \(digest) in \(archive.path)"
        var needed: [Digest: ImageArchive.Member] = [:]
        let config = try member(manifest.config, role: "config", of: what, in: archive)
        needed[manifest.config.digest] = config
        let configuration = try JSONCoding.decode(
            OCIImageConfiguration.self, from: archive.bytes(of: config, name: manifest.config.digest.description),
            what: "the image config \(manifest.config.digest)"
        )
        let diffIDs = configuration.rootfs.diffIDs
        guard diffIDs.count == manifest.layers.count else {
            throw SwiftletError(
                .invalidInput,
                "\(what) lists \(manifest.layers.count) layers but its config lists \(diffIDs.count) diff_ids; the image is corrupt, export it again"
            )
        }
        for (i, layer) in manifest.layers.enumerated() {
            _ = try LayerCompression(mediaType: layer.mediaType)
            let blob = try member(layer, role: "layer \(i + 1)", of: what, in: archive)
            try checkDiffID(of: blob, expected: diffIDs[i], what: "layer \(i + 1) (\(layer.digest)) of \(what)")
            needed[layer.digest] = blob
        }
        return needed
    }

    /// The member holding the blob `descriptor` names, with the size it promises.
    func member(
        _ descriptor: OCIDescriptor, role: String, of what: String, in archive: ImageArchive
    ) throws(SwiftletError) -> ImageArchive.Member {
        guard let member = archive.blob(descriptor.digest) else {
            throw SwiftletError(
                .invalidInput,
                "\(what) names the \(role) blob \(descriptor.digest), which the archive does not contain; the archive is incomplete, export it again"
            )
        }
        guard member.size == descriptor.size else {
            throw SwiftletError(
                .invalidInput,
                "size mismatch: \(what) says its \(role) blob \(descriptor.digest) has \(descriptor.size) bytes, the archive holds \(member.size)"
            )
        }
        return member
    }

    /// Checks that the uncompressed layer hashes to the config's diff_id.
    func checkDiffID(of member: ImageArchive.Member, expected: Digest, what: String) throws(SwiftletError) {
        let compression = try LayerCompression.sniff(FileSource.prefix(of: member.file, count: 4))
        let actual: Digest
        if compression == .gzip {
            let source = try GzipSource(FileSource(path: member.file), what: what)
            actual = try StreamDigest.of(source, limit: limits.maxStreamBytes, what: what).digest
        } else {
            actual = member.digest
        }
        guard actual == expected else {
            throw SwiftletError(
                .invalidInput,
                "diff_id mismatch for \(what): the config says \(expected) but the uncompressed layer hashes to \(actual); the image is corrupt, rebuild or export it again"
            )
        }
    }
}
