import Foundation
import SwiftletCore

extension ImageStore {
    /// Removes the blobs and rootfs dirs no reference uses (and staging dirs abandoned for over
    /// an hour); with `dryRun`, only reports them. Refuses with `.conflict` while this store is
    /// importing or unpacking.
    public func garbageCollect(dryRun: Bool = false) throws(SwiftletError) -> GarbageCollection {
        guard busy == 0 else {
            throw SwiftletError(
                .conflict,
                "an image import or unpack is in progress; run the garbage collection again when it has finished"
            )
        }
        return try ImageIndexFile.update(layout) { (index) throws(SwiftletError) -> GarbageCollection in
            var keepBlobs: Set<Digest> = []
            var keepRootfs: Set<String> = []
            for entry in index.references.values {
                keepBlobs.insert(entry.digest)
                guard let image = try? loadImage(entry.digest, requireLayers: false) else { continue }
                keepBlobs.formUnion(image.indexes)
                keepBlobs.insert(image.digest)
                keepBlobs.insert(image.manifest.config.digest)
                keepBlobs.formUnion(image.manifest.layers.map(\.digest))
                keepRootfs.insert(image.digest.hex)
            }
            let unusedBlobs = try blobs.all().filter { !keepBlobs.contains($0) }
            let reclaimed = unusedBlobs.reduce(Int64(0)) { $0 + (blobs.size(of: $1) ?? 0) }
            let unusedRootfs = unusedRootfsDirectories(keeping: keepRootfs)
            if !dryRun {
                for digest in unusedBlobs { try blobs.remove(digest) }
                for path in unusedRootfs { try RootDirectory.removeTree(atPath: path) }
                logger.info(
                    "image garbage collection", metadata: ["swiftlet.blobs": "\(unusedBlobs.count)", "swiftlet.rootfs": "\(unusedRootfs.count)"]
                )
            }
            return GarbageCollection(blobs: unusedBlobs, rootfs: unusedRootfs, reclaimedBytes: reclaimed, dryRun: dryRun)
        }
    }

    /// Rootfs dirs of no kept manifest, and staging dirs older than an hour (a crashed unpack).
    private func unusedRootfsDirectories(keeping keep: Set<String>) -> [String] {
        let fm = FileManager.default
        guard let names = try? fm.contentsOfDirectory(atPath: layout.rootfs) else { return [] }
        return names.sorted().compactMap { name in
            let path = layout.rootfs + "/" + name
            if Digest.isHex(name) { return keep.contains(name) ? nil : path }
            guard name.hasPrefix(".staging-"),
                let modified = (try? fm.attributesOfItem(atPath: path))?[.modificationDate] as? Date,
                modified < Date().addingTimeInterval(-3600)
            else { return nil }
            return path
        }
    }
}
