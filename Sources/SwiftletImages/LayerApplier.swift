import SwiftletCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Applies one layer's entries to a ``RootDirectory`` (the rules are on ``LayerUnpacker``).
struct LayerApplier {
    let root: RootDirectory
    let limits: LayerUnpacker.Limits
    var summary: LayerUnpacker.Summary
    /// Paths this layer created, with their parents: whiteouts only hide what lower layers hold.
    private var created: Set<String> = []

    init(root: RootDirectory, limits: LayerUnpacker.Limits, summary: LayerUnpacker.Summary) {
        self.root = root
        self.limits = limits
        self.summary = summary
    }

    /// Reads the layer blob, applies its entries and checks its digest and diff_id.
    mutating func apply(_ layer: LayerUnpacker.Layer) throws(SwiftletError) {
        let what = root.context
        _ = try LayerCompression(mediaType: layer.mediaType)
        // The bytes decide, like containerd: a layer labelled tar+gzip may be plain and vice versa.
        let compression = try LayerCompression.sniff(FileSource.prefix(of: layer.path, count: 4))
        let blob = HashingSource(try FileSource(path: layer.path))
        let diff = compression == .gzip ? HashingSource(try GzipSource(blob, what: what)) : blob
        let limited = LimitedSource(diff, limit: limits.maxStreamBytes, what: what)
        let reader = TarStreamReader(source: limited, what: what)
        while let header = try reader.next() {
            summary.entries += 1
            guard summary.entries <= limits.maxEntries else {
                throw SwiftletError(.tooLarge, "the image has more than \(limits.maxEntries) files; this is more than Swiftlet unpacks")
            }
            try applyEntry(header, reader: reader)
        }
        try reader.drainTrailing(limit: limits.maxStreamBytes)
        try blob.drain(limit: 0, what: what)
        let blobDigest = blob.finalize()
        guard blobDigest == layer.digest else {
            throw SwiftletError(
                .invalidInput,
                "digest mismatch for \(what): the blob hashes to \(blobDigest); it is corrupt, remove the image and import or pull it again"
            )
        }
        if let expected = layer.diffID {
            let actual = compression == .gzip ? diff.finalize() : blobDigest
            guard actual == expected else {
                throw SwiftletError(
                    .invalidInput,
                    "diff_id mismatch for \(what): the config says \(expected) but the uncompressed layer hashes to \(actual); the image is corrupt, rebuild or re-export it"
                )
            }
        }
    }

    private mutating func applyEntry(_ header: TarStreamReader.Header, reader: TarStreamReader) throws(SwiftletError) {
        let parts = try clean(header.path, what: "a path")
        switch header.kind {
        case .characterDevice, .blockDevice, .fifo:
            summary.skipped.append(parts.joined(separator: "/"))
            return
        case .other(let type):
            throw SwiftletError(
                .unsupported,
                "\(root.context) holds '\(header.path.prefix(200))' of tar type '\(Character(Unicode.Scalar(type)))', which Swiftlet cannot unpack"
            )
        default:
            break
        }
        guard let last = parts.last else {
            guard header.kind == .directory else {
                throw SwiftletError(.invalidInput, "\(root.context) holds a \(header.kind) entry for the root directory; this is refused")
            }
            return
        }
        let name = String(last)
        if name.hasPrefix(".wh.") {
            if name == ".wh..wh..opq" {
                try makeOpaque(Array(parts.dropLast()))
            } else if !name.hasPrefix(".wh..wh."), name.count > 4 {
                try whiteout(Array(parts.dropLast()) + [last.dropFirst(4)])
            }
            return
        }
        let path = parts.joined(separator: "/")
        guard let parent = try root.parent(of: parts, create: true) else { return }
        let existing = root.kind(of: name, in: parent)
        switch header.kind {
        case .directory:
            if existing != .directory {
                if existing != nil { try root.remove(name, in: parent) }
                try root.makeDirectory(name, in: parent)
            }
            let directory = try root.openDirectory(name, in: parent)
            fchmod(directory.raw, mode_t(header.mode & 0o777 | 0o755))
        case .file:
            summary.bytes += header.size
            guard summary.bytes <= limits.maxUnpackedBytes else {
                throw SwiftletError(
                    .tooLarge,
                    "the image unpacks to more than \(limits.maxUnpackedBytes) bytes; this is more than Swiftlet unpacks"
                )
            }
            if existing != nil { try root.remove(name, in: parent) }
            let file = try root.createFile(name, in: parent)
            while true {
                let chunk = try reader.readContent(upTo: 256 * 1024)
                if chunk.isEmpty { break }
                try file.write(chunk)
            }
            let executable = header.mode & 0o111 != 0 ? 0o111 : 0
            fchmod(file.raw, mode_t(header.mode & 0o777 | 0o444 | executable))
        case .symlink:
            guard !header.linkTarget.isEmpty, !header.linkTarget.utf8.contains(0) else {
                throw SwiftletError(
                    .invalidInput,
                    "\(root.context) holds the symlink '\(path.prefix(200))' with an empty or invalid target; this is refused"
                )
            }
            if existing != nil { try root.remove(name, in: parent) }
            try root.makeSymlink(name, to: header.linkTarget, in: parent)
        case .hardlink:
            let target = try clean(header.linkTarget, what: "the hard link '\(path.prefix(200))' to")
            guard target != parts else { break }
            guard let targetName = target.last.map(String.init),
                let targetParent = try root.parent(of: target, create: false),
                let targetKind = root.kind(of: targetName, in: targetParent)
            else {
                throw SwiftletError(
                    .invalidInput,
                    "\(root.context) holds the hard link '\(path.prefix(200))' to '\(header.linkTarget.prefix(200))', which does not exist in the image; this is refused"
                )
            }
            guard targetKind != .directory else {
                throw SwiftletError(
                    .invalidInput,
                    "\(root.context) holds the hard link '\(path.prefix(200))' to a directory; this is refused"
                )
            }
            // Walking to the target may have replaced the cached parent: walk to the link's parent again.
            guard let linkParent = try root.parent(of: parts, create: true) else { return }
            if existing != nil { try root.remove(name, in: linkParent) }
            try root.makeHardlink(name, in: linkParent, to: targetName, in: targetParent)
        default:
            break
        }
        markCreated(path)
    }

    /// `.wh.<name>`: removes what lower layers hold at `parts` (nothing if it is absent or this layer made it).
    private mutating func whiteout(_ parts: [Substring]) throws(SwiftletError) {
        let path = parts.joined(separator: "/")
        guard !created.contains(path), let name = parts.last.map(String.init) else { return }
        guard name != ".", name != "..", let parent = try root.parent(of: parts, create: false) else { return }
        try root.remove(name, in: parent)
    }

    /// `.wh..wh..opq` in `parts`: removes everything lower layers hold in that directory, keeping what this layer added.
    private mutating func makeOpaque(_ parts: [Substring]) throws(SwiftletError) {
        let prefix = parts.joined(separator: "/")
        if let name = parts.last.map(String.init), let parent = try root.parent(of: parts, create: true) {
            let existing = root.kind(of: name, in: parent)
            if existing != .directory {
                if existing != nil { try root.remove(name, in: parent) }
                try root.makeDirectory(name, in: parent)
                fchmod(try root.openDirectory(name, in: parent).raw, 0o755)
            }
            markCreated(prefix)
        }
        // Depth first over the directories this layer made; each is reopened from the root, so no descriptors pile up.
        var pending: [[Substring]] = [parts]
        while let directoryParts = pending.popLast() {
            guard let directory = try root.parent(of: directoryParts + ["."], create: false) else { continue }
            let base = directoryParts.joined(separator: "/")
            var keptDirectories: [String] = []
            try root.clear(directory) { child in
                let path = base.isEmpty ? child : base + "/" + child
                guard created.contains(path) else { return false }
                keptDirectories.append(child)
                return true
            }
            for child in keptDirectories where root.kind(of: child, in: directory) == .directory {
                pending.append(directoryParts + [Substring(child)])
            }
        }
    }

    private mutating func markCreated(_ path: String) {
        var current = Substring(path)
        while !current.isEmpty, created.insert(String(current)).inserted {
            guard let slash = current.lastIndex(of: "/") else { break }
            current = current[..<slash]
        }
    }

    /// The components of `raw` cleaned lexically; climbing above the root throws `.invalidInput`.
    private func clean(_ raw: String, what: String) throws(SwiftletError) -> [Substring] {
        guard !raw.utf8.contains(0), raw.utf8.count <= 4096 else {
            throw SwiftletError(
                .invalidInput,
                "\(root.context) holds \(what) '\(raw.prefix(200))' that is longer than 4096 bytes or holds a NUL byte; this is refused"
            )
        }
        var parts: [Substring] = []
        for part in raw.split(separator: "/") where part != "." {
            if part == ".." {
                guard !parts.isEmpty else {
                    throw SwiftletError(
                        .invalidInput,
                        "\(root.context) holds \(what) '\(raw.prefix(200))' that climbs out of the image with '..'; this is refused"
                    )
                }
                parts.removeLast()
            } else {
                parts.append(part)
            }
        }
        return parts
    }
}
