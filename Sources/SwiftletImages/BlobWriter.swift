import Crypto
import SwiftletCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Streams one blob into a ``BlobStore``: bytes go to a temporary file while their sha256 is
/// computed; ``commit()`` checks digest and size and only then renames the file to its digest.
/// A writer that is not committed (or whose check fails) leaves nothing behind.
///
/// ```swift
/// let writer = try blobs.makeWriter(expected: layer.digest, size: layer.size)
/// for try await chunk in body { try chunk.withUnsafeReadableBytes { try writer.write($0) } }
/// try writer.commit()
/// ```
public final class BlobWriter {
    /// The digest the content must have.
    public let expected: Digest
    /// The size the content must have, if known.
    public let expectedSize: Int64?
    /// Bytes written so far.
    public private(set) var written: Int64 = 0
    private let store: BlobStore
    private let temporary: String
    private var file: FileDescriptor?
    private var hasher = SHA256()

    init(store: BlobStore, expected: Digest, size: Int64?) throws(SwiftletError) {
        self.store = store
        self.expected = expected
        self.expectedSize = size
        temporary = store.directory + "/.tmp-" + expected.short + "-" + String(UInt64.random(in: 0...UInt64.max), radix: 16)
        file = try FileDescriptor.create(temporary)
    }

    deinit {
        if file != nil { unlink(temporary) }
    }

    /// Appends `bytes`; throws `.invalidInput` as soon as more than the expected size arrives.
    public func write(_ bytes: UnsafeRawBufferPointer) throws(SwiftletError) {
        guard let file else { throw SwiftletError(.internal, "the blob writer for \(expected) is already finished") }
        written += Int64(bytes.count)
        if let expectedSize, written > expectedSize {
            abort()
            throw SwiftletError(
                .invalidInput,
                "size mismatch for the blob \(expected): more than the expected \(expectedSize) bytes arrived"
            )
        }
        hasher.update(bufferPointer: bytes)
        do {
            try file.write(bytes)
        } catch {
            abort()
            throw error
        }
    }

    /// Checks digest and size and makes the blob visible; on a mismatch throws `.invalidInput` and removes everything.
    public func commit() throws(SwiftletError) {
        guard file != nil else { throw SwiftletError(.internal, "the blob writer for \(expected) is already finished") }
        let actual = Digest(hasher.finalize())
        guard actual == expected else {
            abort()
            throw SwiftletError(
                .invalidInput,
                "digest mismatch: expected \(expected) but the content hashes to \(actual); the download or file is corrupt, try again"
            )
        }
        if let expectedSize, written != expectedSize {
            abort()
            throw SwiftletError(.invalidInput, "size mismatch for the blob \(expected): expected \(expectedSize) bytes, got \(written)")
        }
        file = nil
        guard rename(temporary, store.path(for: expected)) == 0 else {
            let code = errno
            unlink(temporary)
            throw Syscall.failure("cannot move the blob \(expected) into \(store.directory)", errno: code)
        }
    }

    /// Discards what was written.
    public func abort() {
        guard file != nil else { return }
        file = nil
        unlink(temporary)
    }
}
