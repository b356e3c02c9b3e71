import SwiftletCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// An open file descriptor, closed when the last reference goes away.
final class FileDescriptor {
    /// The raw descriptor.
    let raw: Int32

    init(raw: Int32) {
        self.raw = raw
    }

    deinit { close(raw) }

    /// Opens `path` for reading.
    static func open(reading path: String) throws(SwiftletError) -> FileDescriptor {
        let fd = systemOpen(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw Syscall.failure("cannot open \(path)") }
        return FileDescriptor(raw: fd)
    }

    /// Creates `path`, which must not exist yet (never through a symlink), for writing.
    static func create(_ path: String, mode: mode_t = 0o644) throws(SwiftletError) -> FileDescriptor {
        let fd = systemOpen(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode)
        guard fd >= 0 else { throw Syscall.failure("cannot create \(path)") }
        return FileDescriptor(raw: fd)
    }

    /// Reads up to `count` bytes; empty at the end of the file.
    func read(upTo count: Int) throws(SwiftletError) -> [UInt8] {
        var failure: Int32 = 0
        let result = [UInt8](unsafeUninitializedCapacity: count) { buffer, initialized in
            while true {
                let n = systemRead(raw, buffer.baseAddress, count)
                if n < 0 && errno == EINTR { continue }
                if n < 0 { failure = errno }
                initialized = max(n, 0)
                return
            }
        }
        guard failure == 0 else { throw Syscall.failure("cannot read a file", errno: failure) }
        return result
    }

    /// Writes all of `bytes`.
    func write(_ bytes: UnsafeRawBufferPointer) throws(SwiftletError) {
        var offset = 0
        while offset < bytes.count {
            let n = systemWrite(raw, bytes.baseAddress! + offset, bytes.count - offset)
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { throw Syscall.failure("cannot write a file") }
            offset += n
        }
    }

    /// Writes all of `bytes`.
    func write(_ bytes: [UInt8]) throws(SwiftletError) {
        try bytes.withUnsafeBytes { buffer in Result { () throws(SwiftletError) in try write(buffer) } }.get()
    }

    /// Writes all of `bytes`.
    func write(_ bytes: ArraySlice<UInt8>) throws(SwiftletError) {
        try bytes.withUnsafeBytes { buffer in Result { () throws(SwiftletError) in try write(buffer) } }.get()
    }

    /// The file's metadata.
    func status() throws(SwiftletError) -> stat {
        var info = stat()
        guard fstat(raw, &info) == 0 else { throw Syscall.failure("cannot stat a file") }
        return info
    }
}

private func systemOpen(_ path: String, _ flags: Int32, _ mode: mode_t = 0) -> Int32 { open(path, flags, mode) }
private func systemRead(_ fd: Int32, _ buffer: UnsafeMutableRawPointer?, _ count: Int) -> Int { read(fd, buffer, count) }
private func systemWrite(_ fd: Int32, _ buffer: UnsafeRawPointer, _ count: Int) -> Int { write(fd, buffer, count) }
