import Crypto
import Foundation
import SwiftletCore

/// The 256-bit key that encrypts secret values, in a file of its own (mode 0600) next to the
/// database, so a copy of the database alone reveals nothing.
///
/// ```swift
/// let file = SecretKeyFile(path: dataDir + "/secrets.key")
/// let key = try file.load() ?? file.create()
/// ```
struct SecretKeyFile: Sendable {
    /// The key's size in bytes (AES-256).
    static let keyBytes = 32

    /// Where the key lives.
    let path: String

    /// The key file next to the database at `databasePath`.
    init(nextTo databasePath: String) {
        path = URL(fileURLWithPath: databasePath).deletingLastPathComponent().appendingPathComponent("secrets.key").path
    }

    /// The key file at `path`.
    init(path: String) {
        self.path = path
    }

    /// Reads the key; nil when the file does not exist. A file that cannot be read or does not
    /// hold exactly 32 bytes is an error that says what to do.
    func load() throws -> SymmetricKey? {
        let fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)
        guard fd >= 0 else {
            let error = errno
            if error == ENOENT { return nil }
            throw SwiftletError(
                .internal, "cannot read the secrets key file \(path) (\(String(cString: strerror(error)))); check that it is a regular file readable by swiftlet"
            )
        }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG else {
            throw SwiftletError(.internal, "the secrets key file \(path) is not a regular file; restore it from a backup")
        }
        guard Int(info.st_size) == Self.keyBytes else {
            throw Self.damaged(path, size: Int(info.st_size))
        }
        var bytes = [UInt8](repeating: 0, count: Self.keyBytes + 1)
        var total = 0
        while total < bytes.count {
            let count = bytes.withUnsafeMutableBytes { read(fd, $0.baseAddress! + total, $0.count - total) }
            if count < 0 && errno == EINTR { continue }
            guard count >= 0 else {
                throw SwiftletError(.internal, "cannot read the secrets key file \(path) (\(String(cString: strerror(errno)))); check the disk")
            }
            if count == 0 { break }
            total += count
        }
        guard total == Self.keyBytes else {
            throw Self.damaged(path, size: total)
        }
        defer { bytes.withUnsafeMutableBytes { _ = $0.initializeMemory(as: UInt8.self, repeating: 0) } }
        return SymmetricKey(data: bytes.prefix(Self.keyBytes))
    }

    /// Creates the file with a new random key, mode 0600. When another store created it first,
    /// returns that one: the file appears whole (written aside, then linked) or not at all.
    func create() throws -> SymmetricKey {
        let key = SymmetricKey(size: .bits256)
        let temporary = path + ".new-\(UUID().uuidString)"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
        guard fd >= 0 else {
            throw SwiftletError(
                .internal, "cannot create the secrets key file \(path) (\(String(cString: strerror(errno)))); check that the data directory is writable"
            )
        }
        defer { unlink(temporary) }
        let written = key.withUnsafeBytes { bytes -> Bool in
            fchmod(fd, 0o600) == 0 && write(fd, bytes.baseAddress, bytes.count) == bytes.count && fsync(fd) == 0
        }
        close(fd)
        guard written else {
            throw SwiftletError(.internal, "cannot write the secrets key file \(path); check free disk space")
        }
        guard link(temporary, path) == 0 else {
            let error = errno
            if error == EEXIST, let existing = try load() { return existing }
            throw SwiftletError(
                .internal, "cannot create the secrets key file \(path) (\(String(cString: strerror(error)))); check that the data directory is writable"
            )
        }
        return key
    }

    private static func damaged(_ path: String, size: Int) -> SwiftletError {
        SwiftletError(
            .internal,
            "the secrets key file \(path) holds \(size) bytes instead of \(keyBytes): it is damaged. Restore it from a backup; to start over, remove every secret and then the file"
        )
    }
}
