import Foundation
import SwiftletCore
@testable import SwiftletImages
import Testing

/// Layers that try to escape the rootfs. Everything runs as root here, so each test points its
/// escapes at a sentinel directory inside its own temp dir and checks that nothing there changed.
@Suite struct HostileLayerTests {
    /// Creates `directory/outside` holding `passwd` and `victim`; returns its path.
    static func makeOutside(_ directory: String) throws -> String {
        let outside = directory + "/outside"
        try FileManager.default.createDirectory(atPath: outside, withIntermediateDirectories: true)
        try write(Array("root:x:0:0\n".utf8), to: outside + "/passwd")
        try write(Array("victim\n".utf8), to: outside + "/victim")
        return outside
    }

    /// Unpacks `tars`, expects `.invalidInput` mentioning `phrase`, no rootfs and no staging dir, and `outside` untouched.
    static func expectRefused(_ tars: [[UInt8]], in directory: String, outside: String, phrase: String) async throws {
        let error = await swiftletError { try unpack(tars, in: directory) }
        #expect(error?.code == .invalidInput)
        #expect(error?.message.contains(phrase) == true, "\(error?.message ?? "no error")")
        #expect(names(in: directory).filter { $0 == "rootfs" || $0.hasPrefix(".staging") }.isEmpty)
        #expect(names(in: outside) == ["passwd", "victim"])
        #expect(text(outside + "/passwd") == "root:x:0:0\n")
        #expect(text(outside + "/victim") == "victim\n")
    }

    @Test(arguments: ["../escape", "a/../../escape", "./../escape", "/../escape", "a/b/../../../escape"])
    func refusesClimbingPaths(_ path: String) async throws {
        try await withTemporaryDirectory { directory in
            let outside = try Self.makeOutside(directory)
            var tar = TarBuilder()
            tar.file(path, "escaped")
            try await Self.expectRefused([tar.finished], in: directory, outside: outside, phrase: "climbs out")
            #expect(!FileManager.default.fileExists(atPath: directory + "/escape"))
        }
    }

    @Test func refusesWritingThroughASymlink() async throws {
        try await withTemporaryDirectory { directory in
            let outside = try Self.makeOutside(directory)
            var tar = TarBuilder()
            tar.symlink("evil", to: outside)
            tar.file("evil/passwd", "hacked::0:0\n")
            try await Self.expectRefused([tar.finished], in: directory, outside: outside, phrase: "through the symlink 'evil'")
        }
    }

    @Test func refusesWritingThroughASymlinkToEtc() async throws {
        try await withTemporaryDirectory { directory in
            let passwd = FileManager.default.contents(atPath: "/etc/passwd")
            let probe = "swiftlet-escape-test-" + UUID().uuidString
            defer { unlink("/etc/" + probe) }
            var tar = TarBuilder()
            tar.symlink("evil", to: "/etc")
            tar.file("evil/" + probe, "hacked")
            let error = await swiftletError { try unpack([tar.finished], in: directory) }
            #expect(error?.message.contains("through the symlink") == true)
            #expect(!FileManager.default.fileExists(atPath: "/etc/" + probe))
            #expect(FileManager.default.contents(atPath: "/etc/passwd") == passwd)
        }
    }

    @Test func refusesWritingThroughALowerLayersSymlink() async throws {
        try await withTemporaryDirectory { directory in
            let outside = try Self.makeOutside(directory)
            var lower = TarBuilder()
            lower.symlink("evil", to: outside)
            var upper = TarBuilder()
            upper.directory("evil/")
            upper.file("evil/passwd", "hacked::0:0\n")
            // The directory entry replaces the link (it is removed, not followed), so the file lands inside.
            try unpack([lower.finished, upper.finished], in: directory)
            #expect(text(directory + "/rootfs/evil/passwd") == "hacked::0:0\n")
            #expect(text(outside + "/passwd") == "root:x:0:0\n")
            try FileManager.default.removeItem(atPath: directory + "/rootfs")

            var sneaky = TarBuilder()
            sneaky.file("evil/passwd", "hacked::0:0\n")
            try await Self.expectRefused([lower.finished, sneaky.finished], in: directory, outside: outside, phrase: "through the symlink")
        }
    }

    @Test func refusesSymlinkChains() async throws {
        try await withTemporaryDirectory { directory in
            let outside = try Self.makeOutside(directory)
            var tar = TarBuilder()
            tar.directory("a/")
            tar.symlink("a/up", to: "../..")
            tar.symlink("l1", to: "l2")
            tar.symlink("l2", to: outside)
            tar.file("l1/passwd", "hacked")
            try await Self.expectRefused([tar.finished], in: directory, outside: outside, phrase: "through the symlink 'l1'")
            var climb = TarBuilder()
            climb.directory("a/")
            climb.symlink("a/up", to: "../../outside")
            climb.file("a/up/victim", "hacked")
            try await Self.expectRefused([climb.finished], in: directory, outside: outside, phrase: "through the symlink 'a/up'")
        }
    }

    @Test func replacingASymlinkNeverWritesItsTarget() async throws {
        try await withTemporaryDirectory { directory in
            let outside = try Self.makeOutside(directory)
            var lower = TarBuilder()
            lower.symlink("victim", to: outside + "/victim")
            var upper = TarBuilder()
            upper.file("victim", "replaced inside")
            try unpack([lower.finished, upper.finished], in: directory)
            #expect(text(directory + "/rootfs/victim") == "replaced inside")
            #expect(text(outside + "/victim") == "victim\n")
        }
    }

    @Test func refusesHostileHardlinks() async throws {
        try await withTemporaryDirectory { directory in
            let outside = try Self.makeOutside(directory)
            var climbing = TarBuilder()
            climbing.hardlink("shadow", to: "../../etc/shadow")
            try await Self.expectRefused([climbing.finished], in: directory, outside: outside, phrase: "climbs out")

            var throughLink = TarBuilder()
            throughLink.symlink("evil", to: outside)
            throughLink.hardlink("stolen", to: "evil/passwd")
            try await Self.expectRefused([throughLink.finished], in: directory, outside: outside, phrase: "through the symlink 'evil'")

            var absolute = TarBuilder()
            absolute.hardlink("stolen", to: outside + "/passwd")
            try await Self.expectRefused([absolute.finished], in: directory, outside: outside, phrase: "does not exist in the image")

            var directoryLink = TarBuilder()
            directoryLink.directory("d/")
            directoryLink.hardlink("dl", to: "d")
            try await Self.expectRefused([directoryLink.finished], in: directory, outside: outside, phrase: "to a directory")
        }
    }

    @Test func refusesWhiteoutsThroughSymlinks() async throws {
        try await withTemporaryDirectory { directory in
            let outside = try Self.makeOutside(directory)
            var lower = TarBuilder()
            lower.symlink("evil", to: outside)
            var whiteout = TarBuilder()
            whiteout.file("evil/.wh.victim", "")
            try await Self.expectRefused(
                [lower.finished, whiteout.finished], in: directory, outside: outside, phrase: "through the symlink"
            )
            var throughOpaque = TarBuilder()
            throughOpaque.file("evil/sub/.wh..wh..opq", "")
            try await Self.expectRefused(
                [lower.finished, throughOpaque.finished], in: directory, outside: outside, phrase: "through the symlink"
            )
            // An opaque marker makes its directory a directory of this layer: the lower symlink is
            // replaced by an empty directory, never followed.
            var opaque = TarBuilder()
            opaque.file("evil/.wh..wh..opq", "")
            try unpack([lower.finished, opaque.finished], in: directory)
            #expect(names(in: directory + "/rootfs/evil").isEmpty)
            #expect(linkTarget(directory + "/rootfs/evil") == nil)
            #expect(names(in: outside) == ["passwd", "victim"])
        }
    }

    @Test func refusesBadBlobs() async throws {
        try await withTemporaryDirectory { directory in
            var tar = TarBuilder()
            tar.file("a", sampleBytes(100_000))
            let compressed = try gzip(tar.finished)
            let truncated = Array(compressed.prefix(compressed.count / 2))
            try write(truncated, to: directory + "/truncated")
            let unpacker = LayerUnpacker(logger: testLogger)
            let layer = LayerUnpacker.Layer(
                path: directory + "/truncated", mediaType: ImageMediaType.ociLayerGzip, digest: .sha256(of: truncated), diffID: nil
            )
            let error = await swiftletError { try unpacker.unpack([layer], into: directory + "/rootfs") }
            #expect(error?.code == .invalidInput)
            #expect(error?.message.contains("truncated") == true)

            try write(compressed, to: directory + "/layer")
            let wrong = LayerUnpacker.Layer(
                path: directory + "/layer", mediaType: ImageMediaType.ociLayerGzip, digest: .sha256(of: [1]), diffID: nil
            )
            let mismatch = await swiftletError { try unpacker.unpack([wrong], into: directory + "/rootfs") }
            #expect(mismatch?.message.contains("digest mismatch") == true)
            #expect(names(in: directory) == ["layer", "truncated"])
        }
    }
}
