import Foundation
import SwiftletCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// `index.json` of the image store: each normalized reference and the manifest digest it names.
///
/// It is replaced atomically (written aside, then renamed) and changed under an exclusive `flock`
/// on `index.lock`, so a CLI import and a running gateway never lose each other's changes.
///
/// ```json
/// {"references":{"docker.io/library/busybox:latest":{"digest":"sha256:…","registered":"2025-01-02T03:04:05Z"}},"schemaVersion":1}
/// ```
struct ImageIndexFile: Codable, Equatable {
    /// One reference.
    struct Entry: Codable, Equatable {
        /// The manifest digest.
        var digest: Digest
        /// When the reference was registered (RFC 3339).
        var registered: String?
    }

    var schemaVersion = 1
    var references: [String: Entry] = [:]

    /// The index of `layout`; empty if there is none yet.
    static func load(_ layout: ImageLayout) throws(SwiftletError) -> ImageIndexFile {
        let path = layout.root + "/index.json"
        guard FileManager.default.fileExists(atPath: path) else { return ImageIndexFile() }
        let bytes = try FileSource.prefix(of: path, count: 64 << 20)
        do {
            return try JSONDecoder().decode(ImageIndexFile.self, from: Data(bytes))
        } catch {
            throw SwiftletError(
                .internal, "\(path) is damaged; restore it from a backup or remove it and import the images again", cause: error
            )
        }
    }

    /// Runs `body` on the index of `layout` under an exclusive lock and saves it if `body` changed it.
    static func update<T>(_ layout: ImageLayout, _ body: (inout ImageIndexFile) throws(SwiftletError) -> T) throws(SwiftletError) -> T {
        do {
            try FileManager.default.createDirectory(atPath: layout.root, withIntermediateDirectories: true)
        } catch {
            throw SwiftletError(.internal, "cannot create \(layout.root); check the permissions of the data directory", cause: error)
        }
        let lock = open(layout.root + "/index.lock", O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard lock >= 0 else { throw Syscall.failure("cannot open \(layout.root)/index.lock") }
        defer { close(lock) }
        while flock(lock, LOCK_EX) != 0 {
            guard errno == EINTR else { throw Syscall.failure("cannot lock \(layout.root)/index.lock") }
        }
        var index = try load(layout)
        let before = index
        let result = try body(&index)
        if index != before { try index.save(layout) }
        return result
    }

    private func save(_ layout: ImageLayout) throws(SwiftletError) {
        let path = layout.root + "/index.json"
        let temporary = path + ".tmp-" + String(UInt64.random(in: 0...UInt64.max), radix: 16)
        let bytes = JSONCoding.encode(self)
        do throws(SwiftletError) {
            let file = try FileDescriptor.create(temporary)
            try file.write(bytes)
            guard fsync(file.raw) == 0 else { throw Syscall.failure("cannot write \(temporary)") }
        } catch {
            unlink(temporary)
            throw error
        }
        guard rename(temporary, path) == 0 else {
            let code = errno
            unlink(temporary)
            throw Syscall.failure("cannot replace \(path)", errno: code)
        }
    }

    /// Now, as RFC 3339.
    static func now() -> String {
        ISO8601DateFormatter().string(from: Date())
    }
}
