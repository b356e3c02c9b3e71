import Foundation
import SwiftletCore
@testable import SwiftletImages
import Testing

/// A source over bytes in memory, handing out at most `chunk` bytes a read.
final class MemorySource: ByteSource {
    private let bytes: [UInt8]
    private let chunk: Int
    private var offset = 0

    init(_ bytes: [UInt8], chunk: Int = 1000) {
        self.bytes = bytes
        self.chunk = chunk
    }

    func read(upTo count: Int) throws(SwiftletError) -> [UInt8] {
        let end = min(bytes.count, offset + min(count, chunk))
        defer { offset = end }
        return Array(bytes[offset..<end])
    }
}

func readAll(_ source: any ByteSource, chunk: Int = 4096) throws -> [UInt8] {
    var result: [UInt8] = []
    while true {
        let bytes = try source.read(upTo: chunk)
        if bytes.isEmpty { return result }
        result += bytes
    }
}

/// Bytes that compress, but not to nothing.
func sampleBytes(_ count: Int, seed: UInt64 = 42) -> [UInt8] {
    var state = seed
    return (0..<count).map { i in
        state = state &* 6364136223846793005 &+ 1442695040888963407
        return i % 3 == 0 ? UInt8(truncatingIfNeeded: state >> 33) : UInt8(ascii: "a") + UInt8(i % 7)
    }
}

@Suite struct StreamTests {
    @Test func gzipStreamsLargeData() throws {
        let plain = sampleBytes(3_000_000)
        let compressed = try gzip(plain)
        let source = try GzipSource(MemorySource(compressed, chunk: 777), what: "test")
        #expect(try readAll(source, chunk: 10_000) == plain)
        #expect(try source.read(upTo: 10).isEmpty)
    }

    @Test func gzipReadsConcatenatedMembersAndZeroPadding() throws {
        let a = sampleBytes(100_000, seed: 1)
        let b = sampleBytes(50_000, seed: 2)
        let stream = try gzip(a) + gzip(b) + [UInt8](repeating: 0, count: 700)
        #expect(try readAll(GzipSource(MemorySource(stream, chunk: 333), what: "test")) == a + b)
    }

    @Test func gzipRefusesTruncatedAndCorruptData() throws {
        let compressed = try gzip(sampleBytes(200_000))
        for cut in [0, 5, compressed.count / 2, compressed.count - 4, compressed.count - 1] {
            #expect {
                try readAll(GzipSource(MemorySource(Array(compressed.prefix(cut))), what: "the layer"))
            } throws: { error in
                (error as? SwiftletError)?.code == .invalidInput && "\(error)".contains("the layer")
            }
        }
        var corrupt = compressed
        corrupt[compressed.count / 2] ^= 0xFF
        corrupt[compressed.count / 2 + 1] ^= 0xFF
        #expect(throws: SwiftletError.self) { try readAll(GzipSource(MemorySource(corrupt), what: "test")) }
        #expect(throws: SwiftletError.self) { try readAll(GzipSource(MemorySource(compressed + [1, 2, 3]), what: "test")) }
    }

    @Test func tarReaderStreamsEntries() throws {
        var tar = TarBuilder()
        let big = sampleBytes(1_000_003)
        let longName = String(repeating: "d/", count: 80) + "file"
        tar.directory("./d/")
        tar.file(longName, "long")
        tar.file("big", big)
        tar.symlink("link", to: "/" + String(repeating: "t", count: 150))
        let reader = TarStreamReader(source: MemorySource(tar.finished, chunk: 4099), what: "test")
        #expect(try reader.next()?.kind == .directory)
        let long = try #require(try reader.next())
        #expect(long.path == longName)
        #expect(long.size == 4)
        // Content not read is skipped.
        let bigHeader = try #require(try reader.next())
        #expect(bigHeader.size == Int64(big.count))
        var content: [UInt8] = []
        while true {
            let chunk = try reader.readContent(upTo: 65536)
            if chunk.isEmpty { break }
            content += chunk
        }
        #expect(content == big)
        let link = try #require(try reader.next())
        #expect(link.kind == .symlink)
        #expect(link.linkTarget.count == 151)
        #expect(try reader.next() == nil)
    }

    @Test func tarReaderRefusesDamage() throws {
        var tar = TarBuilder()
        tar.file("a", sampleBytes(5000))
        var bad = tar.finished
        bad[10] ^= 0x01
        #expect(throws: SwiftletError.self) { _ = try TarStreamReader(source: MemorySource(bad), what: "t").next() }
        let truncated = Array(tar.finished.prefix(3000))
        let reader = TarStreamReader(source: MemorySource(truncated), what: "t")
        _ = try reader.next()
        #expect(throws: SwiftletError.self) { _ = try reader.next() }
    }
}
