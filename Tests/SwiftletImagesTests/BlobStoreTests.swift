import Foundation
import SwiftletCore
@testable import SwiftletImages
import Testing

@Suite struct BlobStoreTests {
    @Test func writesReadsAndRemoves() async throws {
        try await withTemporaryDirectory { directory in
            let store = BlobStore(layout: ImageLayout(dataDirectory: directory))
            let bytes = Array("a manifest".utf8)
            let digest = Digest.sha256(of: bytes)
            #expect(!store.contains(digest))
            try store.write(data: bytes, expected: digest, size: Int64(bytes.count))
            #expect(store.contains(digest))
            #expect(store.path(for: digest) == directory + "/images/blobs/sha256/" + digest.hex)
            #expect(try store.read(digest) == bytes)
            #expect(store.size(of: digest) == Int64(bytes.count))
            #expect(try store.all() == [digest])
            // Writing the same blob again is harmless.
            try store.write(data: bytes, expected: digest)
            try store.remove(digest)
            #expect(!store.contains(digest))
            #expect(names(in: store.directory).isEmpty)
            let error = await swiftletError { _ = try store.read(digest) }
            #expect(error?.code == .notFound)
        }
    }

    @Test func mismatchLeavesNothing() async throws {
        try await withTemporaryDirectory { directory in
            let store = BlobStore(layout: ImageLayout(dataDirectory: directory))
            let bytes = Array("the real content".utf8)
            let wrong = Digest.sha256(of: Array("something else".utf8))
            let error = await swiftletError { try store.write(data: bytes, expected: wrong) }
            #expect(error?.code == .invalidInput)
            #expect(error?.message.contains("digest mismatch") == true)
            #expect(names(in: store.directory).isEmpty)
            #expect(!store.contains(wrong))

            let sizeError = await swiftletError { try store.write(data: bytes, expected: .sha256(of: bytes), size: 3) }
            #expect(sizeError?.message.contains("size mismatch") == true)
            let shortError = await swiftletError { try store.write(data: bytes, expected: .sha256(of: bytes), size: 1000) }
            #expect(shortError?.message.contains("size mismatch") == true)
            #expect(names(in: store.directory).isEmpty)
        }
    }

    @Test func writesFiles() async throws {
        try await withTemporaryDirectory { directory in
            let store = BlobStore(layout: ImageLayout(dataDirectory: directory))
            let bytes = (0..<3_000_000).map { UInt8(truncatingIfNeeded: $0 &* 7919 >> 3) }
            let source = directory + "/layer.bin"
            try write(bytes, to: source)
            let digest = Digest.sha256(of: bytes)
            try store.write(fileAt: source, expected: digest, size: Int64(bytes.count))
            #expect(FileManager.default.contents(atPath: store.path(for: digest)) == Data(bytes))
            #expect(FileManager.default.fileExists(atPath: source))

            let error = await swiftletError { try store.write(fileAt: source, expected: .sha256(of: [1])) }
            #expect(error?.message.contains("digest mismatch") == true)
            #expect(names(in: store.directory) == [digest.hex])
        }
    }

    @Test func abandonedWriterLeavesNothing() async throws {
        try await withTemporaryDirectory { directory in
            let store = BlobStore(layout: ImageLayout(dataDirectory: directory))
            do {
                let writer = try store.makeWriter(expected: .sha256(of: [1, 2, 3]))
                try [UInt8]([1, 2]).withUnsafeBytes { try writer.write($0) }
                #expect(names(in: store.directory).count == 1)
            }
            #expect(names(in: store.directory).isEmpty)
        }
    }
}
