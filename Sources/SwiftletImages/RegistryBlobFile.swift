import Crypto
import Foundation
import NIOCore
import SwiftletCore

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// A `.partial` blob download, open for appending and locked so two pulls never write the same file.
final class RegistryBlobFile {
    let path: String
    private let fd: CInt

    /// Opens (creating if needed) and locks `path`.
    init(path: String) throws {
        self.path = path
        let fd = open(path, O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw Self.failure("open", path) }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            close(fd)
            throw SwiftletError(.conflict, "another pull is downloading \(path) right now; wait for it to finish and try again")
        }
        self.fd = fd
    }

    deinit { close(fd) }

    /// The bytes in the file now.
    func size() throws -> Int64 {
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw Self.failure("stat", path) }
        return Int64(info.st_size)
    }

    /// Feeds the first `count` bytes of the file to `hasher` (what an earlier pull downloaded).
    func hashPrefix(_ count: Int64, into hasher: inout SHA256) throws {
        var buffer = [UInt8](repeating: 0, count: 1 << 20)
        var offset: Int64 = 0
        while offset < count {
            let wanted = Int(min(Int64(buffer.count), count - offset))
            let read = buffer.withUnsafeMutableBytes { pread(fd, $0.baseAddress, wanted, off_t(offset)) }
            guard read > 0 else { throw Self.failure("read", path) }
            buffer.withUnsafeBytes { hasher.update(bufferPointer: UnsafeRawBufferPointer(rebasing: $0[0..<read])) }
            offset += Int64(read)
        }
    }

    /// Empties the file, to download from the start.
    func truncate() throws {
        guard ftruncate(fd, 0) == 0 else { throw Self.failure("truncate", path) }
    }

    /// Appends the readable bytes of `buffer`.
    func append(_ buffer: ByteBuffer) throws {
        try buffer.withUnsafeReadableBytes { bytes in
            var offset = 0
            while offset < bytes.count {
                let written = write(fd, bytes.baseAddress! + offset, bytes.count - offset)
                if written < 0 && errno == EINTR { continue }
                guard written > 0 else { throw Self.failure("write", path) }
                offset += written
            }
        }
    }

    /// Flushes the file to disk before it is renamed into the store.
    func sync() throws {
        guard fsync(fd) == 0 else { throw Self.failure("sync", path) }
    }

    static func exists(_ path: String) -> Bool {
        FileManager.default.fileExists(atPath: path)
    }

    static func remove(_ path: String) {
        unlink(path)
    }

    static func move(_ from: String, to: String) throws {
        guard rename(from, to) == 0 else { throw failure("rename", from) }
    }

    /// Reads a whole (small, already verified) blob.
    static func read(_ path: String) throws -> Data {
        guard let data = FileManager.default.contents(atPath: path) else { throw failure("read", path) }
        return data
    }

    /// Writes bytes already verified in memory to `partial`, then renames them to `blob`.
    static func store(_ bytes: Data, partial: String, blob: String) throws {
        remove(partial)
        let file = try RegistryBlobFile(path: partial)
        var buffer = ByteBuffer()
        buffer.writeBytes(bytes)
        try file.append(buffer)
        try file.sync()
        try move(partial, to: blob)
    }

    /// Creates the blob directory if it is missing.
    static func createDirectory(_ path: String) throws {
        do {
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        } catch {
            throw SwiftletError(.internal, "cannot create the image blob directory \(path); check its permissions", cause: error)
        }
    }

    private static func failure(_ operation: String, _ path: String) -> SwiftletError {
        let reason = String(cString: strerror(errno))
        return SwiftletError(
            .internal, "cannot \(operation) \(path): \(reason); check free disk space and the permissions of the image store")
    }
}
