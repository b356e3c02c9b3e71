import Foundation
import SwiftletCore
@testable import SwiftletImages
import Testing

/// Writes each tar (gzip'd unless told) to a blob file in `directory` and unpacks them into `directory/rootfs`.
@discardableResult
func unpack(
    _ tars: [[UInt8]], in directory: String, compressed: Bool = true, limits: LayerUnpacker.Limits = LayerUnpacker.Limits(),
    diffIDs: [Digest?]? = nil
) throws -> LayerUnpacker.Summary {
    var layers: [LayerUnpacker.Layer] = []
    for (i, tar) in tars.enumerated() {
        let blob = compressed ? try gzip(tar) : tar
        let path = directory + "/layer\(i)"
        try write(blob, to: path)
        layers.append(
            LayerUnpacker.Layer(
                path: path, mediaType: compressed ? ImageMediaType.ociLayerGzip : ImageMediaType.ociLayer, digest: .sha256(of: blob),
                diffID: diffIDs.map { $0[i] } ?? .sha256(of: tar)
            )
        )
    }
    return try LayerUnpacker(limits: limits, logger: testLogger).unpack(layers, into: directory + "/rootfs")
}

@Suite struct LayerUnpackerTests {
    /// A base layer and an upper layer with whiteouts, an opaque dir and replacements.
    static func layers() -> [[UInt8]] {
        var base = TarBuilder()
        base.directory("./")
        base.directory("./etc/")
        base.file("./etc/os-release", "base\n")
        base.directory("usr/")
        base.directory("usr/bin/")
        base.file("usr/bin/tool", "#!/bin/sh\necho tool\n", mode: 0o4755)
        base.file("usr/bin/secret", "s", mode: 0o2700)
        base.hardlink("usr/bin/tool-alias", to: "usr/bin/tool")
        base.symlink("bin", to: "usr/bin")
        base.symlink("etc/tool-link", to: "/usr/bin/tool")
        base.symlink("etc/dangling", to: "/nowhere/at/all")
        base.directory("dev/")
        base.characterDevice("dev/null")
        base.fifo("dev/fifo")
        base.directory("tmp/", mode: 0o1777)
        base.file("gone.txt", "delete me")
        base.directory("gonedir/")
        base.file("gonedir/inner", "x")
        base.directory("opq/")
        base.file("opq/lower", "lower")
        base.directory("opq/sub/")
        base.file("opq/sub/deep", "deep")
        base.file("/abs/file", "absolute path")
        base.file("rel/./x/../file", "cleaned path")
        base.file("long/" + String(repeating: "n", count: 120), "long name")

        var upper = TarBuilder()
        upper.file(".wh.gone.txt", "")
        upper.file(".wh.gonedir", "")
        upper.file(".wh.never-existed", "")
        upper.file("missing-dir/.wh.x", "")
        upper.directory("opq/")
        upper.file("opq/.wh..wh..opq", "")
        upper.file("opq/new", "upper")
        upper.file("etc/os-release", "upper\n")
        upper.file(".wh..wh.plnk", "")
        upper.directory("gonedir/")
        upper.file("gonedir/reborn", "y")
        return [base.finished, upper.finished]
    }

    @Test func appliesLayers() async throws {
        try await withTemporaryDirectory { directory in
            let summary = try unpack(Self.layers(), in: directory)
            let root = directory + "/rootfs"
            #expect(text(root + "/etc/os-release") == "upper\n")
            #expect(!FileManager.default.fileExists(atPath: root + "/gone.txt"))
            #expect(names(in: root + "/gonedir") == ["reborn"])
            #expect(names(in: root + "/opq") == ["new"])
            #expect(text(root + "/abs/file") == "absolute path")
            #expect(text(root + "/rel/file") == "cleaned path")
            #expect(text(root + "/long/" + String(repeating: "n", count: 120)) == "long name")
            #expect(!FileManager.default.fileExists(atPath: root + "/missing-dir"))
            #expect(!FileManager.default.fileExists(atPath: root + "/.wh..wh.plnk"))

            // Symlinks keep their text, absolute targets included; nothing was followed.
            #expect(linkTarget(root + "/bin") == "usr/bin")
            #expect(linkTarget(root + "/etc/tool-link") == "/usr/bin/tool")
            #expect(linkTarget(root + "/etc/dangling") == "/nowhere/at/all")

            // Hard link shares the inode; setuid/setgid/sticky are dropped; files are readable.
            let tool = try #require(fileStatus(root + "/usr/bin/tool"))
            let alias = try #require(fileStatus(root + "/usr/bin/tool-alias"))
            #expect(tool.st_ino == alias.st_ino)
            #expect(tool.st_nlink == 2)
            #expect(tool.st_mode & 0o7777 == 0o755)
            #expect(try #require(fileStatus(root + "/usr/bin/secret")).st_mode & 0o7777 == 0o755)
            #expect(try #require(fileStatus(root + "/tmp")).st_mode & 0o7777 == 0o777)
            #expect(try #require(fileStatus(root + "/etc/os-release")).st_mode & 0o777 == 0o644)

            // Devices and FIFOs are skipped, not fatal.
            #expect(names(in: root + "/dev").isEmpty)
            #expect(summary.skipped.sorted() == ["dev/fifo", "dev/null"])
            #expect(summary.bytes > 0)
            #expect(names(in: directory).filter { $0.hasPrefix(".staging") }.isEmpty)
        }
    }

    @Test func plainTarLayersAndOpaqueKeepsSameLayerEntries() async throws {
        try await withTemporaryDirectory { directory in
            var base = TarBuilder()
            base.file("d/a", "a")
            base.file("d/keep/x", "lower x")
            var upper = TarBuilder()
            // Entries of this layer written before the opaque marker survive it; lower ones do not.
            upper.file("d/keep/y", "upper y")
            upper.file("d/.wh..wh..opq", "")
            upper.file("d/b", "b")
            try unpack([base.finished, upper.finished], in: directory, compressed: false)
            #expect(names(in: directory + "/rootfs/d") == ["b", "keep"])
            #expect(names(in: directory + "/rootfs/d/keep") == ["y"])
        }
    }

    @Test func streamsLargeFiles() async throws {
        try await withTemporaryDirectory { directory in
            let big = sampleBytes(5_000_000)
            var tar = TarBuilder()
            tar.file("big.bin", big)
            tar.file("after", "after")
            try unpack([tar.finished], in: directory)
            #expect(FileManager.default.contents(atPath: directory + "/rootfs/big.bin") == Data(big))
            #expect(text(directory + "/rootfs/after") == "after")
        }
    }

    @Test func replacesFilesDirectoriesAndLinks() async throws {
        try await withTemporaryDirectory { directory in
            var base = TarBuilder()
            base.file("x", "file")
            base.directory("y/")
            base.file("y/inner", "in y")
            base.symlink("z", to: "/etc")
            var upper = TarBuilder()
            upper.directory("x/")
            upper.file("x/now-a-dir", "d")
            upper.file("y", "now a file")
            upper.file("z", "now a file too")
            try unpack([base.finished, upper.finished], in: directory)
            #expect(text(directory + "/rootfs/x/now-a-dir") == "d")
            #expect(text(directory + "/rootfs/y") == "now a file")
            #expect(text(directory + "/rootfs/z") == "now a file too")
            #expect(linkTarget(directory + "/rootfs/z") == nil)
        }
    }

    @Test func checksDiffIDs() async throws {
        try await withTemporaryDirectory { directory in
            var tar = TarBuilder()
            tar.file("a", "a")
            let error = await swiftletError { try unpack([tar.finished], in: directory, diffIDs: [.sha256(of: [0])]) }
            #expect(error?.code == .invalidInput)
            #expect(error?.message.contains("diff_id mismatch") == true)
            #expect(names(in: directory) == ["layer0"])
        }
    }

    @Test func enforcesLimits() async throws {
        try await withTemporaryDirectory { directory in
            var tar = TarBuilder()
            for i in 0..<20 { tar.file("f\(i)", sampleBytes(1000)) }
            let bytes = await swiftletError { try unpack([tar.finished], in: directory, limits: .init(maxUnpackedBytes: 5000)) }
            #expect(bytes?.code == .tooLarge)
            let entries = await swiftletError { try unpack([tar.finished], in: directory, limits: .init(maxEntries: 10)) }
            #expect(entries?.code == .tooLarge)
            #expect(names(in: directory).filter { !$0.hasPrefix("layer") }.isEmpty)
        }
    }

    @Test func refusesZstdAndUnknownTypes() async throws {
        try await withTemporaryDirectory { directory in
            try write([0x28, 0xB5, 0x2F, 0xFD, 0, 0], to: directory + "/z")
            let layer = LayerUnpacker.Layer(
                path: directory + "/z", mediaType: ImageMediaType.ociLayerZstd, digest: .sha256(of: [1]), diffID: nil
            )
            let error = await swiftletError { try LayerUnpacker(logger: testLogger).unpack([layer], into: directory + "/rootfs") }
            #expect(error?.code == .unsupported)
            #expect(error?.message.contains("zstd") == true)
            #expect(!FileManager.default.fileExists(atPath: directory + "/rootfs"))
        }
    }
}
