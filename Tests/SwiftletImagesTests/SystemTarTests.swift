import Foundation
import SwiftletCore
@testable import SwiftletImages
import Testing

/// Layers written by GNU tar and gzip (not by ``TarBuilder``), in each of tar's formats, unpack
/// to the tree they were made from.
@Suite(.enabled(if: ["/usr/bin/tar", "/usr/bin/gzip"].allSatisfy(FileManager.default.isExecutableFile(atPath:))))
struct SystemTarTests {
    static func run(_ tool: String, _ arguments: [String]) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: tool)
        process.arguments = arguments
        try process.run()
        process.waitUntilExit()
        #expect(process.terminationStatus == 0, "\(tool) \(arguments)")
    }

    @Test(arguments: ["gnu", "pax", "ustar"])
    func unpacksGNUTarLayers(_ format: String) async throws {
        try await withTemporaryDirectory { directory in
            let source = directory + "/source"
            let fm = FileManager.default
            let components = format == "ustar" ? ["a", "b"] : ["a-rather-long-directory-name", String(repeating: "b", count: 90), "c"]
            let deep = components.joined(separator: "/")
            try fm.createDirectory(atPath: source + "/" + deep, withIntermediateDirectories: true)
            let big = sampleBytes(2_500_000)
            try write(big, to: source + "/" + deep + "/big.bin")
            try write([], to: source + "/empty")
            try write(Array("#!/bin/sh\n".utf8), to: source + "/run.sh")
            chmod(source + "/run.sh", 0o750)
            try fm.createSymbolicLink(atPath: source + "/abs-link", withDestinationPath: "/" + deep + "/big.bin")
            try fm.createSymbolicLink(atPath: source + "/rel-link", withDestinationPath: deep)
            try fm.linkItem(atPath: source + "/run.sh", toPath: source + "/run-hardlink")

            let tar = directory + "/layer.tar"
            try Self.run("/usr/bin/tar", ["--format=" + format, "--numeric-owner", "--owner=0", "--group=0", "-cf", tar, "-C", source, "."])
            try Self.run("/usr/bin/gzip", ["-k", tar])
            let blob = try [UInt8](Data(contentsOf: URL(fileURLWithPath: tar + ".gz")))
            let plain = try [UInt8](Data(contentsOf: URL(fileURLWithPath: tar)))
            let layer = LayerUnpacker.Layer(
                path: tar + ".gz", mediaType: ImageMediaType.dockerLayerGzip, digest: .sha256(of: blob), diffID: .sha256(of: plain)
            )
            try LayerUnpacker(logger: testLogger).unpack([layer], into: directory + "/rootfs")

            let root = directory + "/rootfs"
            #expect(FileManager.default.contents(atPath: root + "/" + deep + "/big.bin") == Data(big))
            #expect(text(root + "/empty") == "")
            #expect(linkTarget(root + "/abs-link") == "/" + deep + "/big.bin")
            #expect(linkTarget(root + "/rel-link") == deep)
            #expect(fileStatus(root + "/run.sh")?.st_ino == fileStatus(root + "/run-hardlink")?.st_ino)
            #expect((fileStatus(root + "/run.sh")?.st_mode ?? 0) & 0o777 == 0o755)
        }
    }
}
