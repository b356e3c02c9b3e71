import Crypto
import Foundation
import SwiftletCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The content-addressed blobs of the image store (manifests, configs, layers) under
/// ``ImageLayout/blobs``, one file per sha256.
///
/// A blob becomes visible only once its content has been checked: it is written to a temporary
/// file in the same directory, its sha256 and size compared with what was expected, and only then
/// renamed to `<hex>`. A mismatch throws `.invalidInput` ("digest mismatch …") and leaves nothing
/// behind, so every `<hex>` file holds exactly the bytes that hash to `<hex>`.
///
/// ```swift
/// let blobs = BlobStore(layout: ImageLayout(dataDirectory: "/var/lib/swiftlet"))
/// try blobs.write(data: manifestBytes, expected: digest)
/// let bytes = try blobs.read(digest)
/// ```
public struct BlobStore: Sendable {
    /// The directory of the blobs.
    public let directory: String

    /// The blob store of `layout`.
    public init(layout: ImageLayout) {
        directory = layout.blobs
    }

    /// The file of the blob `digest` (it may not exist).
    public func path(for digest: Digest) -> String {
        directory + "/" + digest.hex
    }

    /// Whether the blob `digest` is stored.
    public func contains(_ digest: Digest) -> Bool {
        var info = stat()
        return lstat(path(for: digest), &info) == 0 && info.st_mode & S_IFMT == S_IFREG
    }

    /// The size of the stored blob `digest`, or nil if it is not stored.
    public func size(of digest: Digest) -> Int64? {
        var info = stat()
        guard lstat(path(for: digest), &info) == 0, info.st_mode & S_IFMT == S_IFREG else { return nil }
        return Int64(info.st_size)
    }

    /// The bytes of the blob `digest`; `.notFound` if it is not stored, `.tooLarge` past `maxSize`
    /// (manifests and configs are small; read layers as files with ``path(for:)``).
    public func read(_ digest: Digest, maxSize: Int = 16 << 20) throws(SwiftletError) -> [UInt8] {
        guard let size = size(of: digest) else {
            throw SwiftletError(.notFound, "the blob \(digest) is not in the image store; import or pull the image again")
        }
        guard size <= maxSize else {
            throw SwiftletError(
                .tooLarge,
                "the blob \(digest) has \(size) bytes, more than the \(maxSize) expected of a manifest or config"
            )
        }
        let file = try FileDescriptor.open(reading: path(for: digest))
        var bytes: [UInt8] = []
        while true {
            let chunk = try file.read(upTo: 1 << 20)
            if chunk.isEmpty { break }
            bytes += chunk
            guard bytes.count <= maxSize else { throw SwiftletError(.tooLarge, "the blob \(digest) grew while it was read") }
        }
        return bytes
    }

    /// Stores `data` as the blob `digest` after checking its sha256 (and `size`, when given).
    public func write(data: some DataProtocol, expected digest: Digest, size: Int64? = nil) throws(SwiftletError) {
        let writer = try makeWriter(expected: digest, size: size)
        for region in data.regions {
            try region.withUnsafeBytes { bytes in Result { () throws(SwiftletError) in try writer.write(bytes) } }.get()
        }
        try writer.commit()
    }

    /// Copies the file at `path` into the store as the blob `digest`, after checking its sha256
    /// (and `size`, when given). The file is left where it is.
    public func write(fileAt path: String, expected digest: Digest, size: Int64? = nil) throws(SwiftletError) {
        let source = try FileSource(path: path)
        let writer = try makeWriter(expected: digest, size: size)
        while true {
            let chunk = try source.read(upTo: 1 << 20)
            if chunk.isEmpty { break }
            try chunk.withUnsafeBytes { bytes in Result { () throws(SwiftletError) in try writer.write(bytes) } }.get()
        }
        try writer.commit()
    }

    /// A writer that streams a blob in; it becomes visible only when ``BlobWriter/commit()`` checks it.
    public func makeWriter(expected digest: Digest, size: Int64? = nil) throws(SwiftletError) -> BlobWriter {
        try ensureDirectory()
        return try BlobWriter(store: self, expected: digest, size: size)
    }

    /// Removes the blob `digest`; nothing if it is not stored.
    public func remove(_ digest: Digest) throws(SwiftletError) {
        guard unlink(path(for: digest)) == 0 || errno == ENOENT else {
            throw Syscall.failure("cannot remove the blob \(digest)")
        }
    }

    /// Every stored blob (temporary and partial files are not blobs).
    public func all() throws(SwiftletError) -> [Digest] {
        guard FileManager.default.fileExists(atPath: directory) else { return [] }
        let names: [String]
        do {
            names = try FileManager.default.contentsOfDirectory(atPath: directory)
        } catch {
            throw SwiftletError(.internal, "cannot list \(directory); check the permissions of the data directory", cause: error)
        }
        return names.compactMap { name in Digest.isHex(name) ? try? Digest(hex: name) : nil }.sorted()
    }

    /// Moves `file` (whose sha256 the caller computed from exactly its bytes, in a private
    /// directory of the same file system) into the store as `digest`.
    func adopt(fileAt file: String, digest: Digest) throws(SwiftletError) {
        try ensureDirectory()
        guard rename(file, path(for: digest)) == 0 else {
            throw Syscall.failure("cannot move a blob into \(directory)")
        }
    }

    func ensureDirectory() throws(SwiftletError) {
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        } catch {
            throw SwiftletError(.internal, "cannot create \(directory); check the permissions of the data directory", cause: error)
        }
    }
}
