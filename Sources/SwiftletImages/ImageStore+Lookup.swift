import SwiftletCore

extension ImageStore {
    /// A stored image: its single-platform manifest and config.
    struct LoadedImage {
        /// The digest of the single-platform manifest (the registered digest, or the one an index chose).
        var digest: Digest
        var manifest: OCIManifest
        var configuration: OCIImageConfiguration
        /// The index the manifest was chosen from, if the registered digest names one.
        var indexes: [Digest]
    }

    /// Reads the manifest `digest` (choosing this platform's from an index) and its config; with
    /// `requireLayers`, also checks that every layer is stored and of a supported type.
    func loadImage(_ digest: Digest, requireLayers: Bool) throws(SwiftletError) -> LoadedImage {
        var current = digest
        var indexes: [Digest] = []
        for _ in 0..<4 {
            let what = "the manifest \(current)"
            switch try ManifestDocument.decode(blobs.read(current), what: what) {
            case .index(let index):
                guard let chosen = index.manifest(for: platform) else {
                    throw SwiftletError(.unsupported, "\(what) has no \(platform) image (it has: \(index.platformList))")
                }
                indexes.append(current)
                current = chosen.digest
            case .manifest(let manifest):
                let configuration = try JSONCoding.decode(
                    OCIImageConfiguration.self, from: blobs.read(manifest.config.digest), what: "the image config \(manifest.config.digest)"
                )
                guard configuration.rootfs.diffIDs.count == manifest.layers.count else {
                    throw SwiftletError(
                        .invalidInput,
                        "\(what) lists \(manifest.layers.count) layers but its config lists \(configuration.rootfs.diffIDs.count) diff_ids; the image is corrupt"
                    )
                }
                if requireLayers {
                    for (i, layer) in manifest.layers.enumerated() {
                        _ = try LayerCompression(mediaType: layer.mediaType)
                        guard blobs.contains(layer.digest) else {
                            throw SwiftletError(
                                .notFound,
                                "layer \(i + 1) (\(layer.digest)) of \(what) is not in the image store; pull or import the image again"
                            )
                        }
                    }
                }
                return LoadedImage(digest: current, manifest: manifest, configuration: configuration, indexes: indexes)
            }
        }
        throw SwiftletError(.invalidInput, "the manifest \(digest) nests indexes more than 4 deep; this is refused")
    }

    /// The normalized name and manifest digest of `reference` (a reference, or a manifest digest `sha256:…`).
    func lookup(_ reference: String) throws(SwiftletError) -> (name: String, digest: Digest) {
        let index = try ImageIndexFile.load(layout)
        if reference.hasPrefix("sha256:") {
            let digest = try Digest(reference)
            guard let match = index.references.filter({ $0.value.digest == digest }).keys.min() else { throw Self.notFound(reference) }
            return (match, digest)
        }
        let parsed = try ImageReference(parsing: reference)
        if let entry = index.references[parsed.description] { return (parsed.description, entry.digest) }
        // `name@sha256:…` also finds the image registered under a tag of that name.
        if let pinned = parsed.digest,
            index.references.contains(where: { $0.value.digest == pinned && $0.key.hasPrefix(parsed.name + ":") })
        {
            return (parsed.description, pinned)
        }
        throw Self.notFound(reference)
    }

    /// The normalized form of `reference`.
    func normalize(_ reference: String) throws(SwiftletError) -> String {
        try ImageReference(parsing: reference).description
    }

    static func notFound(_ reference: String) -> SwiftletError {
        SwiftletError(
            .notFound,
            "image '\(reference)' is not in the image store; import it with `swiftlet image import FILE --tag \(reference)` or pull it with `swiftlet image pull \(reference)`"
        )
    }
}
