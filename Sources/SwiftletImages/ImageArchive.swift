import Crypto
import SwiftletCore

/// The members of an image archive (`docker save` or an OCI image layout, plain or gzip'd),
/// read once as a stream and extracted to a private staging directory, each with its sha256.
///
/// Members are stored under numbered names (never under the names the archive gives them), so
/// the archive cannot write anywhere else; members named `blobs/sha256/<hex>` are checked
/// against their name as they are read. Symlinks and hard links between members (`docker save`
/// uses them for repeated layers) are kept as aliases.
struct ImageArchive {
    /// One extracted regular file.
    struct Member {
        /// The staged file.
        var file: String
        /// The sha256 of its bytes.
        var digest: Digest
        /// Its size in bytes.
        var size: Int64
    }

    /// The archive file, for messages.
    let path: String
    private var members: [String: Member] = [:]
    private var aliases: [String: String] = [:]

    private init(path: String) {
        self.path = path
    }

    /// Reads the archive at `path` into `staging` (an existing, empty, private directory).
    static func extract(path: String, into staging: String, maxEntries: Int) throws(SwiftletError) -> ImageArchive {
        var archive = ImageArchive(path: path)
        let what = "the archive \(path)"
        let file: FileSource
        do {
            file = try FileSource(path: path)
        } catch {
            throw SwiftletError(.notFound, "cannot open the image archive \(path): \(error.message)")
        }
        let source: any ByteSource =
            try LayerCompression.sniff(FileSource.prefix(of: path, count: 4)) == .gzip ? try GzipSource(file, what: what) : file
        let reader = TarStreamReader(source: source, what: what)
        var count = 0
        while let header = try reader.next() {
            count += 1
            guard count <= maxEntries else {
                throw SwiftletError(.tooLarge, "\(what) has more than \(maxEntries) members; this is not an image archive Swiftlet imports")
            }
            guard let name = normalize(header.path) else { continue }
            switch header.kind {
            case .file:
                let staged = staging + "/m\(count)"
                let output = try FileDescriptor.create(staged, mode: 0o644)
                var hasher = SHA256()
                var size: Int64 = 0
                while true {
                    let chunk = try reader.readContent(upTo: 1 << 20)
                    if chunk.isEmpty { break }
                    hasher.update(data: chunk)
                    size += Int64(chunk.count)
                    try output.write(chunk)
                }
                let digest = Digest(hasher.finalize())
                if let named = blobDigest(name), named != digest {
                    throw SwiftletError(
                        .invalidInput,
                        "digest mismatch: the member \(name) of \(path) hashes to \(digest); the archive is corrupt or tampered with, export it again"
                    )
                }
                archive.members[name] = Member(file: staged, digest: digest, size: size)
                archive.aliases[name] = nil
            case .symlink:
                let base = name.split(separator: "/").dropLast().joined(separator: "/")
                let target = header.linkTarget.hasPrefix("/") ? header.linkTarget : base + "/" + header.linkTarget
                if let resolved = normalize(target) { archive.aliases[name] = resolved }
            case .hardlink:
                if let resolved = normalize(header.linkTarget) { archive.aliases[name] = resolved }
            default:
                continue
            }
        }
        try reader.drainTrailing(limit: 1 << 30)
        return archive
    }

    /// The member called `name`, following aliases.
    func member(_ name: String) -> Member? {
        guard var current = Self.normalize(name) else { return nil }
        for _ in 0..<16 {
            if let member = members[current] { return member }
            guard let next = aliases[current] else { return nil }
            current = next
        }
        return nil
    }

    /// The member holding the blob `digest` (`blobs/sha256/<hex>`).
    func blob(_ digest: Digest) -> Member? {
        member("blobs/sha256/" + digest.hex)
    }

    /// The bytes of a small member (a manifest, a config, `index.json`).
    func bytes(of member: Member, name: String, maxSize: Int = 16 << 20) throws(SwiftletError) -> [UInt8] {
        guard member.size <= maxSize else {
            throw SwiftletError(
                .tooLarge,
                "the member \(name) of \(path) has \(member.size) bytes, more than expected of a manifest or config"
            )
        }
        return try FileSource.prefix(of: member.file, count: Int(member.size))
    }

    /// `a/./b`, `/a/b` and `./a/b` are `a/b`; names climbing out with `..` are ignored (nil).
    static func normalize(_ name: String) -> String? {
        var parts: [Substring] = []
        for part in name.split(separator: "/") where part != "." {
            if part == ".." {
                guard !parts.isEmpty else { return nil }
                parts.removeLast()
            } else {
                parts.append(part)
            }
        }
        return parts.isEmpty ? nil : parts.joined(separator: "/")
    }

    /// The digest a member name like `blobs/sha256/<hex>` promises, if any.
    static func blobDigest(_ name: String) -> Digest? {
        guard name.hasPrefix("blobs/sha256/") else { return nil }
        return try? Digest(hex: String(name.dropFirst("blobs/sha256/".count)))
    }
}
