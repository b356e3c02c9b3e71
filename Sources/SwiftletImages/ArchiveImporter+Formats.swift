import SwiftletCore

extension ArchiveImporter {
    /// `manifest.json` of `docker save`: one entry per image.
    struct DockerSaveEntry: Decodable {
        var config: String
        var repoTags: [String]?
        var layers: [String]

        enum CodingKeys: String, CodingKey {
            case config = "Config", repoTags = "RepoTags", layers = "Layers"
        }
    }

    /// `oci-layout`.
    struct LayoutMarker: Decodable {
        var imageLayoutVersion: String
    }

    /// A `docker save` archive: `manifest.json` names each image's config and layer files; the
    /// importer writes an OCI manifest for it.
    func planDockerSave(_ archive: ImageArchive) throws(SwiftletError) -> [PlannedImage] {
        guard let file = archive.member("manifest.json") else { return [] }
        let entries = try JSONCoding.decode(
            [DockerSaveEntry].self, from: archive.bytes(of: file, name: "manifest.json"), what: "manifest.json of \(archive.path)"
        )
        return try entries.map { (entry) throws(SwiftletError) -> PlannedImage in
            let what = "the image \(entry.config) of \(archive.path)"
            guard let config = archive.member(entry.config) else {
                throw SwiftletError(
                    .invalidInput,
                    "manifest.json of \(archive.path) names the config \(entry.config), which the archive does not contain; save the image again"
                )
            }
            // Config names are content addresses: `<hex>.json` (classic) or `blobs/sha256/<hex>` (Docker 25+).
            let base = entry.config.split(separator: "/").last.map(String.init) ?? entry.config
            if base.hasSuffix(".json"), let named = try? Digest(hex: String(base.dropLast(5))), named != config.digest {
                throw SwiftletError(
                    .invalidInput,
                    "digest mismatch: the config \(entry.config) hashes to \(config.digest); the archive is corrupt, save it again"
                )
            }
            let configuration = try JSONCoding.decode(
                OCIImageConfiguration.self, from: archive.bytes(of: config, name: entry.config), what: "the config \(entry.config)"
            )
            let diffIDs = configuration.rootfs.diffIDs
            guard diffIDs.count == entry.layers.count else {
                throw SwiftletError(
                    .invalidInput,
                    "\(what) has \(entry.layers.count) layers but its config lists \(diffIDs.count) diff_ids; the archive is corrupt, save it again"
                )
            }
            var blobs: [Digest: ImageArchive.Member] = [config.digest: config]
            var layers: [OCIDescriptor] = []
            for (i, name) in entry.layers.enumerated() {
                guard let layer = archive.member(name) else {
                    throw SwiftletError(
                        .invalidInput,
                        "manifest.json of \(archive.path) names the layer \(name), which the archive does not contain; save the image again"
                    )
                }
                let compression = try LayerCompression.sniff(FileSource.prefix(of: layer.file, count: 4))
                try checkDiffID(of: layer, expected: diffIDs[i], what: "layer \(i + 1) (\(name)) of \(what)")
                blobs[layer.digest] = layer
                layers.append(OCIDescriptor(mediaType: compression.ociMediaType, digest: layer.digest, size: layer.size))
            }
            let manifest = OCIManifest(
                config: OCIDescriptor(mediaType: ImageMediaType.ociConfig, digest: config.digest, size: config.size), layers: layers
            )
            let bytes = JSONCoding.encode(manifest)
            let references = try (entry.repoTags ?? []).map { (tag) throws(SwiftletError) in try ImageReference(parsing: tag) }
            return PlannedImage(references: references, manifestDigest: .sha256(of: bytes), manifestBytes: bytes, blobs: blobs)
        }
    }

    /// An OCI image layout: `index.json` names manifests (or indexes, of which the host platform is
    /// chosen), annotated with their names.
    func planLayout(_ archive: ImageArchive) throws(SwiftletError) -> [PlannedImage] {
        guard let marker = archive.member("oci-layout"), let indexFile = archive.member("index.json") else { return [] }
        let version = try JSONCoding.decode(
            LayoutMarker.self, from: archive.bytes(of: marker, name: "oci-layout"), what: "oci-layout of \(archive.path)"
        )
        guard version.imageLayoutVersion.hasPrefix("1.") else {
            throw SwiftletError(
                .unsupported,
                "\(archive.path) is an OCI image layout of version \(version.imageLayoutVersion); only 1.x is supported"
            )
        }
        let index = try JSONCoding.decode(
            OCIIndex.self, from: archive.bytes(of: indexFile, name: "index.json"), what: "index.json of \(archive.path)"
        )
        return try index.manifests.map { (top) throws(SwiftletError) -> PlannedImage in
            var references: [ImageReference] = []
            var bareTag: String?
            if let name = top.annotations?[OCIDescriptor.imageNameAnnotation] {
                references.append(try ImageReference(parsing: name))
            } else if let name = top.annotations?[OCIDescriptor.refNameAnnotation] {
                // A full reference has a '/', ':' or '@'; anything else is a bare tag, which names no repository.
                if name.contains("/") || name.contains(":") || name.contains("@") {
                    references.append(try ImageReference(parsing: name))
                } else {
                    bareTag = name
                }
            }
            var descriptor = top
            var blobs: [Digest: ImageArchive.Member] = [:]
            for _ in 0..<4 {
                let what = "the manifest \(descriptor.digest) in \(archive.path)"
                let member = try member(descriptor, role: "manifest", of: "index.json", in: archive)
                switch try ManifestDocument.decode(archive.bytes(of: member, name: descriptor.digest.description), what: what) {
                case .index(let nested):
                    guard let chosen = nested.manifest(for: platform) else {
                        throw SwiftletError(
                            .unsupported,
                            "\(what) has no \(platform) image (it has: \(nested.platformList)); export the image for \(platform)"
                        )
                    }
                    descriptor = chosen
                case .manifest(let manifest):
                    blobs = try checkManifest(manifest, digest: descriptor.digest, in: archive)
                    blobs[descriptor.digest] = member
                    return PlannedImage(
                        references: references, bareTag: bareTag, manifestDigest: descriptor.digest, manifestBytes: nil, blobs: blobs
                    )
                }
            }
            throw SwiftletError(.invalidInput, "\(archive.path) nests indexes more than 4 deep; this is refused")
        }
    }
}
