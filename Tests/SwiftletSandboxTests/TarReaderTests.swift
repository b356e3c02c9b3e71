import Foundation
import SwiftletCore
import Testing

@testable import SwiftletSandbox

/// All entries of an archive.
private func readAll(_ bytes: [UInt8]) throws(SwiftletError) -> [TarReader.Entry] {
    var reader = TarReader(bytes: bytes)
    var entries: [TarReader.Entry] = []
    while let entry = try reader.next() { entries.append(entry) }
    return entries
}

private func expectCorrupt(_ bytes: [UInt8], sourceLocation: SourceLocation = #_sourceLocation) {
    do {
        let entries = try readAll(bytes)
        Issue.record("a corrupt archive was read as \(entries.count) entries", sourceLocation: sourceLocation)
    } catch {
        #expect(error.code == .invalidInput, sourceLocation: sourceLocation)
        #expect(error.message.contains("not a valid tar archive"), "\(error.message)", sourceLocation: sourceLocation)
    }
}

@Suite struct TarReaderTests {
    @Test func readsFilesDirectoriesAndLinks() throws {
        var tar = TarBuilder()
        tar.directory("dir/", mode: 0o750)
        tar.file("dir/a.txt", "hello", mode: 0o640)
        tar.file("empty", "")
        tar.symlink("link", to: "dir/a.txt")
        tar.hardlink("hard", to: "empty")
        tar.special("fifo", type: "6")
        let entries = try readAll(tar.finished())
        #expect(entries.map(\.path) == ["dir/", "dir/a.txt", "empty", "link", "hard", "fifo"])
        #expect(entries.map(\.kind) == [.directory, .file, .file, .symlink, .hardlink, .other(UInt8(ascii: "6"))])
        #expect(entries[0].mode == 0o750)
        #expect(entries[1].mode == 0o640)
        #expect(Array(entries[1].contents) == Array("hello".utf8))
        #expect(entries[2].contents.isEmpty)
        #expect(entries[3].linkTarget == "dir/a.txt")
        #expect(entries[3].contents.isEmpty)
        #expect(entries[4].linkTarget == "empty")
    }

    @Test func oldStyleAndContiguousFileTypes() throws {
        var tar = TarBuilder()
        tar.raw(TarBuilder.header(name: "nul-type", type: 0, size: 3))
        tar.data(Array("abc".utf8))
        tar.raw(TarBuilder.header(name: "contiguous", type: UInt8(ascii: "7"), size: 2))
        tar.data(Array("de".utf8))
        let entries = try readAll(tar.finished())
        #expect(entries.map(\.kind) == [.file, .file])
        #expect(entries.map { String(decoding: $0.contents, as: UTF8.self) } == ["abc", "de"])
    }

    @Test func fileDataSpanningSeveralBlocks() throws {
        let contents = (0..<1500).map { UInt8($0 % 251) }
        var tar = TarBuilder()
        tar.file("big", contents)
        tar.file("after", "x")
        let entries = try readAll(tar.finished())
        #expect(entries.count == 2)
        #expect(Array(entries[0].contents) == contents)
        #expect(entries[1].path == "after")
    }

    @Test func gnuLongName() throws {
        let long = (0..<30).map { "directory\($0)" }.joined(separator: "/") + "/file.py"
        #expect(long.utf8.count > 100)
        var tar = TarBuilder()
        tar.gnuLong("L", long)
        tar.file(String(long.prefix(99)), "print(1)")
        tar.file("short", "y")
        let entries = try readAll(tar.finished())
        #expect(entries.map(\.path) == [long, "short"])
        #expect(Array(entries[0].contents) == Array("print(1)".utf8))
    }

    @Test func gnuLongLink() throws {
        let target = String(repeating: "t", count: 300)
        var tar = TarBuilder()
        tar.gnuLong("K", target)
        tar.symlink("link", to: String(target.prefix(99)))
        let entries = try readAll(tar.finished())
        #expect(entries.count == 1)
        #expect(entries[0].linkTarget == target)
    }

    @Test func paxPathLinkpathAndSize() throws {
        let long = String(repeating: "p", count: 250) + "/handler.py"
        var tar = TarBuilder()
        tar.pax([("mtime", "1700000000.5"), ("path", long), ("comment", "x=y=z")])
        tar.file("truncated-name", "body")
        tar.pax([("linkpath", "target/of/link")])
        tar.symlink("sym", to: "ignored")
        tar.file("plain", "z")
        let entries = try readAll(tar.finished())
        #expect(entries.map(\.path) == [long, "sym", "plain"])
        #expect(entries[1].linkTarget == "target/of/link")
        #expect(Array(entries[0].contents) == Array("body".utf8))
    }

    @Test func paxSizeOverridesHeaderSize() throws {
        var tar = TarBuilder()
        tar.pax([("size", "600")])
        // The header claims 0 bytes; pax says 600.
        tar.raw(TarBuilder.header(name: "sized", type: UInt8(ascii: "0"), size: 0))
        tar.data([UInt8](repeating: 9, count: 600))
        tar.file("next", "n")
        let entries = try readAll(tar.finished())
        #expect(entries.map(\.path) == ["sized", "next"])
        #expect(entries[0].contents.count == 600)
    }

    @Test func paxUnicodePath() throws {
        var tar = TarBuilder()
        tar.pax([("path", "données/héllo 🙂.py")])
        tar.file("x", "1")
        #expect(try readAll(tar.finished()).map(\.path) == ["données/héllo 🙂.py"])
    }

    @Test func globalPaxHeaderIsSkipped() throws {
        var tar = TarBuilder()
        tar.pax([("comment", "global")], type: "g")
        tar.file("a", "1")
        #expect(try readAll(tar.finished()).map(\.path) == ["a"])
    }

    @Test func ustarPrefixIsJoined() throws {
        var tar = TarBuilder()
        tar.file("file.py", "x", prefix: "some/prefix")
        tar.raw(TarBuilder.header(name: "no-magic.py", type: UInt8(ascii: "0"), prefix: "ignored", magic: ""))
        let entries = try readAll(tar.finished())
        #expect(entries.map(\.path) == ["some/prefix/file.py", "no-magic.py"])
    }

    @Test func base256Size() throws {
        var field = [UInt8](repeating: 0, count: 12)
        field[0] = 0x80
        field[10] = 0x02  // 0x200 = 512
        field[11] = 0x00
        var tar = TarBuilder()
        tar.raw(TarBuilder.header(name: "b256", type: UInt8(ascii: "0"), sizeField: field))
        tar.data([UInt8](repeating: 1, count: 512))
        let entries = try readAll(tar.finished())
        #expect(entries.first?.contents.count == 512)
    }

    @Test func endWithoutZeroBlocksOrWithTrailingGarbageAfterThem() throws {
        var tar = TarBuilder()
        tar.file("a", "1")
        #expect(try readAll(tar.bytes).map(\.path) == ["a"])
        #expect(try readAll(tar.finished() + [0xFF, 0xFF, 0xFF]).map(\.path) == ["a"])
        #expect(try readAll([]).isEmpty)
        #expect(try readAll([UInt8](repeating: 0, count: 512)).isEmpty)
    }

    // MARK: corrupt

    @Test func truncatedHeader() {
        var tar = TarBuilder()
        tar.file("a", "1")
        expectCorrupt(tar.bytes + [UInt8](repeating: 1, count: 100))
        expectCorrupt([UInt8](repeating: 0x41, count: 511))
    }

    @Test func truncatedData() {
        var bytes = TarBuilder.header(name: "a", type: UInt8(ascii: "0"), size: 2000)
        bytes += [UInt8](repeating: 1, count: 1000)
        expectCorrupt(bytes)
    }

    @Test func badChecksum() {
        expectCorrupt(TarBuilder.header(name: "a", type: UInt8(ascii: "0"), checksumDelta: -1) + [UInt8](repeating: 0, count: 1024))
        expectCorrupt([UInt8](repeating: 0x41, count: 512) + [UInt8](repeating: 0, count: 1024))
    }

    @Test func hugeBase256SizeDoesNotCrash() {
        // A size near Int.max must be refused, not overflow.
        let nearMax: [UInt8] = [0x80, 0, 0, 0, 0x7F, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFE, 0xFF]
        expectCorrupt(TarBuilder.header(name: "a", type: UInt8(ascii: "0"), sizeField: nearMax) + [UInt8](repeating: 0, count: 1024))
        var field = [UInt8](repeating: 0xFF, count: 12)
        field[0] = 0x80
        field[1] = 0x7F
        expectCorrupt(TarBuilder.header(name: "a", type: UInt8(ascii: "0"), sizeField: field) + [UInt8](repeating: 0, count: 1024))
        var overflowing = [UInt8](repeating: 0xFF, count: 12)
        overflowing[0] = 0xFF
        expectCorrupt(TarBuilder.header(name: "a", type: UInt8(ascii: "0"), sizeField: overflowing) + [UInt8](repeating: 0, count: 1024))
    }

    @Test(arguments: ["9223372036854775807", "9223372036854775000", "99999999999999999999999", "-1", "abc", "1e3", ""])
    func hugeOrInvalidPaxSizeDoesNotCrash(_ size: String) {
        var tar = TarBuilder()
        tar.pax([("size", size)])
        tar.file("a", "1")
        expectCorrupt(tar.finished())
    }

    @Test(arguments: [
        "1 x", "2 \n", "3 a\n", "0 path=x\n", "-5 path=x\n", "999 path=x\n", "path=x\n", "x path=x\n", " 8 a=b\n",
        "6 a=b\n7", "13 path=abc\n", "3 \n\n",
    ])
    func malformedPaxRecordsAreRefused(_ record: String) {
        var tar = TarBuilder()
        tar.paxRaw(Array(record.utf8))
        tar.file("a", "1")
        expectCorrupt(tar.finished())
    }

    @Test func paxRecordWithoutEqualsIsIgnored() throws {
        var tar = TarBuilder()
        tar.paxRaw(Array("7 abcd\n".utf8) + TarBuilder.paxRecord("path", "real"))
        tar.file("a", "1")
        #expect(try readAll(tar.finished()).map(\.path) == ["real"])
    }

    @Test func longNameBeyondTheArchiveIsRefused() {
        var bytes = TarBuilder.header(name: "././@LongLink", type: UInt8(ascii: "L"), size: 100_000)
        bytes += [UInt8](repeating: 0x61, count: 512)
        expectCorrupt(bytes)
    }

    @Test func randomGarbageNeverCrashes() {
        var generator = SystemRandomNumberGenerator()
        var tar = TarBuilder()
        tar.pax([("path", "p"), ("size", "3")])
        tar.file("a", "abc")
        tar.gnuLong("L", "long/name")
        tar.symlink("s", to: "a")
        let base = tar.finished()
        var outcomes = 0
        for _ in 0..<2000 {
            var bytes = base
            for _ in 0..<Int.random(in: 1...8, using: &generator) {
                bytes[Int.random(in: 0..<bytes.count, using: &generator)] = UInt8.random(in: 0...255, using: &generator)
            }
            var reader = TarReader(bytes: bytes)
            do {
                var count = 0
                while try reader.next() != nil, count < 100 { count += 1 }
            } catch {
                #expect(error.code == .invalidInput)
            }
            outcomes += 1
        }
        #expect(outcomes == 2000)
    }
}
