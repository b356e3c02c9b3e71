import Foundation
import SwiftletCore
import Testing

@testable import SwiftletSandbox

private let handlerPy = "def handle(event, context):\n    return 'hi'\n"

/// Unpacks `code` into `<tmp>/code` and expects it refused with `code`, leaving the parent directory empty.
private func expectRefused(
    _ code: Data, _ expected: SwiftletError.Code, runtime: Runtime = .python3, limits: CodeBundle.Limits = .init(),
    messageContains: String? = nil, sourceLocation: SourceLocation = #_sourceLocation
) throws {
    try withTemporaryDirectory { parent in
        let target = parent + "/code"
        let bundle = CodeBundle(limits: limits)
        // validate() refuses without writing anything.
        do throws(SwiftletError) {
            try bundle.validate(code, runtime: runtime)
            Issue.record("validate accepted a bundle that should be refused", sourceLocation: sourceLocation)
        } catch {
            #expect(error.code == expected, "\(error.message)", sourceLocation: sourceLocation)
        }
        do throws(SwiftletError) {
            try bundle.unpack(code, runtime: runtime, into: target)
            Issue.record("unpack accepted a bundle that should be refused", sourceLocation: sourceLocation)
        } catch {
            #expect(error.code == expected, "\(error.message)", sourceLocation: sourceLocation)
            if let messageContains {
                #expect(error.message.contains(messageContains), "\(error.message)", sourceLocation: sourceLocation)
            }
        }
        #expect(listing(parent).isEmpty, "left behind: \(listing(parent))", sourceLocation: sourceLocation)
        #expect(!FileManager.default.fileExists(atPath: target), sourceLocation: sourceLocation)
    }
}

/// A bundle with a good handler plus whatever `add` appends.
private func bundle(_ add: (inout TarBuilder) -> Void) throws -> Data {
    var tar = TarBuilder()
    tar.file("handler.py", handlerPy)
    add(&tar)
    return try tar.gzipped()
}

@Suite struct CodeBundleTests {
    // MARK: single files

    @Test(arguments: [(Runtime.python3, "handler.py"), (.node, "handler.js")])
    func singleHandlerFile(_ runtime: Runtime, _ file: String) throws {
        try withTemporaryDirectory { parent in
            let target = parent + "/code"
            let code = Data("module.exports = async () => 'hi' // or python\n".utf8)
            #expect(!CodeBundle.isGzip(code))
            try CodeBundle().validate(code, runtime: runtime)
            try CodeBundle().unpack(code, runtime: runtime, into: target)
            #expect(listing(target) == [file])
            #expect(FileManager.default.contents(atPath: target + "/" + file) == code)
            #expect(try permissions(target + "/" + file) == 0o644)
            #expect(try permissions(target) == 0o755)
            #expect(listing(parent) == ["code"])
        }
    }

    @Test func isGzip() {
        #expect(CodeBundle.isGzip(Data([0x1F, 0x8B])))
        #expect(CodeBundle.isGzip(Data([0x1F, 0x8B, 0x08, 0x00])))
        #expect(!CodeBundle.isGzip(Data([0x1F])))
        #expect(!CodeBundle.isGzip(Data()))
        #expect(!CodeBundle.isGzip(Data([0x8B, 0x1F])))
        #expect(CodeBundle.isGzip(Data([0, 0x1F, 0x8B]).dropFirst()))
    }

    // MARK: good bundles

    @Test func realTarBundleWithSubdirsExecutableAndSymlink() throws {
        try withTemporaryDirectory { tmp in
            let fm = FileManager.default
            let source = tmp + "/src"
            try fm.createDirectory(atPath: source + "/lib/deep", withIntermediateDirectories: true)
            try fm.createDirectory(atPath: source + "/bin", withIntermediateDirectories: true)
            try Data(handlerPy.utf8).write(to: URL(fileURLWithPath: source + "/handler.py"))
            try Data("X = 1\n".utf8).write(to: URL(fileURLWithPath: source + "/lib/util.py"))
            try Data("deep\n".utf8).write(to: URL(fileURLWithPath: source + "/lib/deep/data.txt"))
            try Data("#!/bin/sh\necho hi\n".utf8).write(to: URL(fileURLWithPath: source + "/bin/run.sh"))
            try fm.setAttributes([.posixPermissions: 0o755], ofItemAtPath: source + "/bin/run.sh")
            try fm.createSymbolicLink(atPath: source + "/util-link.py", withDestinationPath: "lib/util.py")
            try fm.createSymbolicLink(atPath: source + "/lib/deep/up", withDestinationPath: "../util.py")
            let archive = tmp + "/bundle.tar.gz"
            try run("/bin/tar", ["-czf", archive, "-C", source, "."])
            let code = try Data(contentsOf: URL(fileURLWithPath: archive))
            #expect(CodeBundle.isGzip(code))

            let parent = tmp + "/out"
            try fm.createDirectory(atPath: parent, withIntermediateDirectories: true)
            let target = parent + "/code"
            try CodeBundle().validate(code, runtime: .python3)
            try CodeBundle().unpack(code, runtime: .python3, into: target)

            #expect(listing(parent) == ["code"])
            #expect(listing(target) == ["bin", "handler.py", "lib", "util-link.py"])
            #expect(listing(target + "/lib") == ["deep", "util.py"])
            #expect(fm.contents(atPath: target + "/handler.py") == Data(handlerPy.utf8))
            #expect(fm.contents(atPath: target + "/lib/deep/data.txt") == Data("deep\n".utf8))
            #expect(try permissions(target + "/bin/run.sh") == 0o755)
            #expect(try permissions(target + "/handler.py") == 0o644)
            #expect(try permissions(target + "/lib") == 0o755)
            #expect(try fm.destinationOfSymbolicLink(atPath: target + "/util-link.py") == "lib/util.py")
            #expect(try fm.destinationOfSymbolicLink(atPath: target + "/lib/deep/up") == "../util.py")
            #expect(fm.contents(atPath: target + "/util-link.py") == Data("X = 1\n".utf8))
        }
    }

    @Test func handcraftedBundleWithDirectoriesFirstAndDotPrefixes() throws {
        var tar = TarBuilder()
        tar.directory("./")
        tar.directory("./pkg/")
        tar.file("./pkg/__init__.py", "")
        tar.file("./handler.py", handlerPy)
        tar.file("pkg//mod.py", "Y = 2\n")
        tar.directory("pkg")  // the same directory twice is fine
        tar.symlink("pkg/self", to: ".")
        tar.symlink("root-link", to: "pkg/./../handler.py")
        try withTemporaryDirectory { parent in
            let target = parent + "/code"
            try CodeBundle().unpack(try tar.gzipped(), runtime: .python3, into: target)
            #expect(listing(target) == ["handler.py", "pkg", "root-link"])
            #expect(listing(target + "/pkg") == ["__init__.py", "mod.py", "self"])
            #expect(FileManager.default.contents(atPath: target + "/pkg/mod.py") == Data("Y = 2\n".utf8))
            #expect(FileManager.default.contents(atPath: target + "/pkg/__init__.py") == Data())
        }
    }

    @Test func setuidSetgidStickyAndWriteBitsAreDropped() throws {
        let code = try bundle { tar in
            tar.file("suid", "x", mode: 0o4755)
            tar.file("sgid", "x", mode: 0o2711)
            tar.file("world", "x", mode: 0o6777)
            tar.file("sticky", "x", mode: 0o1666)
            tar.file("groupexec", "x", mode: 0o610)
        }
        try withTemporaryDirectory { parent in
            let target = parent + "/code"
            try CodeBundle().unpack(code, runtime: .python3, into: target)
            #expect(try permissions(target + "/suid") == 0o755)
            #expect(try permissions(target + "/sgid") == 0o755)
            #expect(try permissions(target + "/world") == 0o755)
            #expect(try permissions(target + "/sticky") == 0o644)
            #expect(try permissions(target + "/groupexec") == 0o755)
        }
    }

    @Test func directoryModesAreNormalized() throws {
        let code = try bundle { tar in
            tar.directory("open", mode: 0o7777)
            tar.file("open/f", "x")
        }
        try withTemporaryDirectory { parent in
            let target = parent + "/code"
            try CodeBundle().unpack(code, runtime: .python3, into: target)
            #expect(try permissions(target + "/open") == 0o755)
        }
    }

    @Test func unpackTwiceIsANoOp() throws {
        try withTemporaryDirectory { parent in
            let target = parent + "/code"
            try CodeBundle().unpack(try bundle { $0.file("first.txt", "1") }, runtime: .python3, into: target)
            // A second unpack (even of other code) into an existing directory changes nothing.
            try CodeBundle().unpack(try bundle { $0.file("second.txt", "2") }, runtime: .python3, into: target)
            try CodeBundle().unpack(Data("plain".utf8), runtime: .python3, into: target)
            #expect(listing(target) == ["first.txt", "handler.py"])
            #expect(FileManager.default.contents(atPath: target + "/handler.py") == Data(handlerPy.utf8))
            #expect(listing(parent) == ["code"])
        }
    }

    @Test func unpackCreatesMissingParents() throws {
        try withTemporaryDirectory { parent in
            let target = parent + "/code/ab/cd"
            try CodeBundle().unpack(Data(handlerPy.utf8), runtime: .python3, into: target)
            #expect(listing(target) == ["handler.py"])
            #expect(listing(parent + "/code/ab") == ["cd"])
        }
    }

    @Test func concurrentUnpacksOfTheSameCodeLeaveOneDirectory() async throws {
        let code = try bundle { tar in
            for i in 0..<50 { tar.file("f\(i).txt", String(repeating: "x", count: 1000)) }
        }
        let parent = FileManager.default.temporaryDirectory.appendingPathComponent("swiftlet-sandbox-tests-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: parent, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: parent) }
        let target = parent + "/code"
        let failures = await withTaskGroup(of: String?.self) { group in
            for _ in 0..<8 {
                group.addTask {
                    do throws(SwiftletError) {
                        try CodeBundle().unpack(code, runtime: .python3, into: target)
                        return nil
                    } catch {
                        return error.message
                    }
                }
            }
            var failures: [String] = []
            for await failure in group { if let failure { failures.append(failure) } }
            return failures
        }
        #expect(failures.isEmpty)
        #expect(listing(target).count == 51)
        // One unpack won the rename; the others removed their staging directories.
        #expect(listing(parent) == ["code"])
        #expect(!listing(target).contains { $0.contains("staging") })
    }

    // MARK: refused: paths

    @Test(arguments: ["../evil", "../../etc/cron.d/x", "a/../../evil", "./../evil", "a/b/../../../evil", ".."])
    func climbingPathsAreRefused(_ path: String) throws {
        try expectRefused(try bundle { $0.file(path, "pwned") }, .invalidInput, messageContains: "..")
    }

    @Test(arguments: ["/etc/passwd", "/tmp/evil", "//evil", "/"])
    func absolutePathsAreRefused(_ path: String) throws {
        try expectRefused(try bundle { $0.file(path, "pwned") }, .invalidInput, messageContains: "absolute")
    }

    @Test func climbingDirectoryIsRefused() throws {
        try expectRefused(try bundle { $0.directory("../outside/") }, .invalidInput)
    }

    @Test func innerDotDotIsRefusedEvenWhenItStaysInside() throws {
        // "a/../handler2.py" stays inside, but any ".." is refused outright.
        try expectRefused(try bundle { $0.file("a/../b.py", "x") }, .invalidInput)
    }

    @Test func climbingPathFromUstarPrefixIsRefused() throws {
        try expectRefused(try bundle { $0.file("evil", "x", prefix: "..") }, .invalidInput)
        try expectRefused(try bundle { $0.file("evil", "x", prefix: "/etc") }, .invalidInput)
    }

    @Test func climbingPathFromGNULongNameIsRefused() throws {
        let code = try bundle { tar in
            tar.gnuLong("L", String(repeating: "a/", count: 60) + String(repeating: "../", count: 62) + "evil")
            tar.file("ignored", "x")
        }
        try expectRefused(code, .invalidInput)
    }

    @Test func climbingPathFromPaxIsRefused() throws {
        let code = try bundle { tar in
            tar.pax([("path", "../../../../tmp/pax-evil")])
            tar.file("innocent", "x")
        }
        try expectRefused(code, .invalidInput)
    }

    @Test func nulInPaxPathIsRefused() throws {
        let code = try bundle { tar in
            tar.pax([("path", "ok\u{0}/../../evil")])
            tar.file("innocent", "x")
        }
        try expectRefused(code, .invalidInput)
    }

    // MARK: refused: links

    @Test(arguments: [
        ("link", "../../etc/passwd"), ("link", "/etc/passwd"), ("link", ".."), ("sub/link", "../.."), ("link", "a/../../x"),
        ("a/b/link", "../../../etc"), ("link", "/"), ("link", "./../x"), ("link", ""),
    ])
    func symlinksPointingOutAreRefused(_ path: String, _ target: String) throws {
        try expectRefused(try bundle { $0.symlink(path, to: target) }, .invalidInput, messageContains: "symlink")
    }

    @Test func symlinkOutViaPaxLinkpathIsRefused() throws {
        let code = try bundle { tar in
            tar.pax([("linkpath", "/etc/shadow")])
            tar.symlink("innocent", to: "handler.py")
        }
        try expectRefused(code, .invalidInput)
    }

    @Test func symlinkOutViaGNULongLinkIsRefused() throws {
        let code = try bundle { tar in
            tar.gnuLong("K", String(repeating: "../", count: 50) + "etc/passwd")
            tar.symlink("innocent", to: "handler.py")
        }
        try expectRefused(code, .invalidInput)
    }

    @Test func symlinkTargetWithNULIsRefused() throws {
        // A target the kernel would truncate at the NUL must not pass the lexical check.
        let code = try bundle { tar in
            tar.pax([("linkpath", "..\u{0}/inside")])
            tar.symlink("innocent", to: "handler.py")
        }
        try expectRefused(code, .invalidInput)
    }

    @Test func symlinkClimbingThroughAnotherSymlinkIsRefused() throws {
        // Each link is inside on its own, but "x" resolves a/up first (the root) and then climbs out.
        try expectRefused(
            try bundle { tar in
                tar.directory("a")
                tar.symlink("a/up", to: "..")
                tar.symlink("x", to: "a/up/..")
            }, .invalidInput, messageContains: "through another symlink"
        )
        // The same when the inner link comes later in the archive, or deeper in the target.
        try expectRefused(
            try bundle { tar in
                tar.symlink("x", to: "a/up/../etc")
                tar.directory("a")
                tar.symlink("a/up", to: "..")
            }, .invalidInput
        )
        try expectRefused(
            try bundle { tar in
                tar.directory("lib/v1")
                tar.symlink("lib/current", to: "v1")
                tar.symlink("lib/evil", to: "current/../../..")
            }, .invalidInput
        )
    }

    @Test func symlinksThroughSymlinksWithoutClimbingAreAccepted() throws {
        let code = try bundle { tar in
            tar.directory("lib/v1")
            tar.file("lib/v1/mod.py", "Z = 3\n")
            tar.symlink("lib/current", to: "v1")
            tar.symlink("mod.py", to: "lib/current/mod.py")
            tar.symlink("lib/v1/up", to: "../../handler.py")
            tar.symlink("via-dir", to: "lib/v1/../v1/mod.py")
        }
        try withTemporaryDirectory { parent in
            let target = parent + "/code"
            try CodeBundle().unpack(code, runtime: .python3, into: target)
            #expect(FileManager.default.contents(atPath: target + "/mod.py") == Data("Z = 3\n".utf8))
            #expect(FileManager.default.contents(atPath: target + "/via-dir") == Data("Z = 3\n".utf8))
            #expect(FileManager.default.contents(atPath: target + "/lib/v1/up") == Data(handlerPy.utf8))
        }
    }

    @Test func oneCharacterNamesAreFine() throws {
        // NSString.deletingLastPathComponent traps on one-character paths on Linux: the checks must not use it.
        let code = try bundle { tar in
            tar.file("a", "1")
            tar.directory("b")
            tar.file("b/c", "2")
            tar.file("d/e/f", "3")
            tar.symlink("g", to: "a")
            tar.symlink("d/h", to: "e")
        }
        try withTemporaryDirectory { parent in
            let target = parent + "/code"
            try CodeBundle().validate(code, runtime: .python3)
            try CodeBundle().unpack(code, runtime: .python3, into: target)
            #expect(listing(target) == ["a", "b", "d", "g", "handler.py"])
            #expect(FileManager.default.contents(atPath: target + "/d/e/f") == Data("3".utf8))
            #expect(FileManager.default.contents(atPath: target + "/g") == Data("1".utf8))
        }
    }

    @Test func writingThroughASymlinkedDirectoryIsRefused() throws {
        let code = try bundle { tar in
            tar.directory("real")
            tar.symlink("alias", to: "real")
            tar.file("alias/evil.py", "x")
        }
        try expectRefused(code, .invalidInput, messageContains: "through the symlink")
    }

    @Test func writingThroughANestedSymlinkedDirectoryIsRefused() throws {
        let code = try bundle { tar in
            tar.directory("a/b")
            tar.symlink("a/link", to: "b")
            tar.file("a/link/c/d/evil.py", "x")
        }
        try expectRefused(code, .invalidInput)
    }

    @Test func directoryThroughASymlinkIsRefused() throws {
        let code = try bundle { tar in
            tar.symlink("alias", to: ".")
            tar.directory("alias/sub")
        }
        try expectRefused(code, .invalidInput)
    }

    @Test func symlinkReplacedByDirectoryThenWrittenThroughIsRefused() throws {
        let code = try bundle { tar in
            tar.symlink("alias", to: ".")
            tar.directory("alias")
            tar.file("alias/evil.py", "x")
        }
        try expectRefused(code, .invalidInput)
    }

    @Test func symlinkOverAnEarlierFileIsRefused() throws {
        let code = try bundle { tar in
            tar.symlink("handler.py", to: "other.py")
        }
        try expectRefused(code, .invalidInput, messageContains: "twice")
    }

    @Test func duplicateFilesAreRefused() throws {
        try expectRefused(try bundle { $0.file("handler.py", "print('again')") }, .invalidInput, messageContains: "twice")
        try expectRefused(try bundle { $0.file("./handler.py", "print('again')") }, .invalidInput, messageContains: "twice")
    }

    @Test func fileUnderAnEarlierFileIsInvalidInput() throws {
        // A file used as a directory is the bundle's fault, not the server's.
        try expectRefused(try bundle { $0.file("handler.py/x", "x") }, .invalidInput)
        try expectRefused(try bundle { $0.directory("handler.py") }, .invalidInput)
        // A file over a directory an earlier entry implied.
        try expectRefused(
            try bundle { tar in
                tar.file("lib/x.py", "x")
                tar.file("lib", "x")
            }, .invalidInput
        )
        try expectRefused(
            try bundle { tar in
                tar.file("lib/x.py", "x")
                tar.symlink("lib", to: "handler.py")
            }, .invalidInput
        )
    }

    @Test func hardLinksAreRefused() throws {
        try expectRefused(try bundle { $0.hardlink("copy.py", to: "handler.py") }, .invalidInput, messageContains: "hard link")
        try expectRefused(try bundle { $0.hardlink("shadow", to: "/etc/shadow") }, .invalidInput)
    }

    @Test(arguments: ["3", "4", "6", "S", "V", "M", "N", "A"] as [Character])
    func devicesFIFOsAndUnknownTypesAreRefused(_ type: Character) throws {
        try expectRefused(try bundle { $0.special("thing", type: type) }, .invalidInput, messageContains: "devices and FIFOs")
    }

    // MARK: refused: handler

    @Test func bundleWithoutHandlerIsRefused() throws {
        var tar = TarBuilder()
        tar.file("main.py", handlerPy)
        tar.directory("src")
        tar.file("src/handler.py", handlerPy)
        try expectRefused(try tar.gzipped(), .invalidInput, messageContains: "handler.py")
    }

    @Test func pythonBundleForNodeIsRefused() throws {
        try expectRefused(try bundle { _ in }, .invalidInput, runtime: .node, messageContains: "handler.js")
    }

    @Test func handlerThatIsASymlinkOrDirectoryIsRefused() throws {
        var link = TarBuilder()
        link.file("main.py", handlerPy)
        link.symlink("handler.py", to: "main.py")
        try expectRefused(try link.gzipped(), .invalidInput, messageContains: "handler.py")

        var dir = TarBuilder()
        dir.directory("handler.py")
        dir.file("handler.py/x", "x")
        try expectRefused(try dir.gzipped(), .invalidInput)
    }

    @Test func emptyArchiveIsRefused() throws {
        try expectRefused(try gzip([UInt8](repeating: 0, count: 1024)), .invalidInput)
        try expectRefused(try gzip([]), .invalidInput)
    }

    // MARK: refused: corrupt data

    @Test func corruptGzipIsRefused() throws {
        try expectRefused(Data([0x1F, 0x8B]), .invalidInput)
        try expectRefused(Data([0x1F, 0x8B, 0x08, 0x00] + [UInt8](repeating: 0xAB, count: 200)), .invalidInput, messageContains: "gzip")
        var flipped = try bundle { _ in }
        flipped[flipped.count / 2] ^= 0xFF
        flipped[flipped.count / 2 + 1] ^= 0xFF
        try expectRefused(flipped, .invalidInput)
    }

    @Test func truncatedGzipIsRefused() throws {
        let full = try bundle { $0.file("more.txt", String(repeating: "data ", count: 2000)) }
        try expectRefused(full.prefix(full.count / 2), .invalidInput)
        try expectRefused(full.prefix(12), .invalidInput)
    }

    @Test func truncatedTarIsRefused() throws {
        var tar = TarBuilder()
        tar.file("handler.py", handlerPy)
        tar.file("big.bin", [UInt8](repeating: 7, count: 5000))
        let bytes = tar.finished()
        // In the middle of a header, then in the middle of a file's data.
        try expectRefused(try gzip(Array(bytes.prefix(1024 + 300))), .invalidInput, messageContains: "tar")
        try expectRefused(try gzip(Array(bytes.prefix(1024 + 512 + 2000))), .invalidInput, messageContains: "tar")
    }

    @Test func badChecksumIsRefused() throws {
        var tar = TarBuilder()
        tar.raw(TarBuilder.header(name: "handler.py", type: UInt8(ascii: "0"), size: handlerPy.utf8.count, checksumDelta: 1))
        tar.data(Array(handlerPy.utf8))
        try expectRefused(try tar.gzipped(), .invalidInput, messageContains: "checksum")

        var tampered = TarBuilder()
        tampered.file("handler.py", handlerPy)
        var bytes = tampered.finished()
        bytes[0] = UInt8(ascii: "H")  // rename after the checksum was computed
        try expectRefused(try gzip(bytes), .invalidInput, messageContains: "checksum")
    }

    @Test func nonOctalFieldsAreRefused() throws {
        var tar = TarBuilder()
        tar.raw(TarBuilder.header(name: "handler.py", type: UInt8(ascii: "0"), sizeField: Array("00000000009\0".utf8)))
        try expectRefused(try tar.gzipped(), .invalidInput)
    }

    @Test func plainTarWithoutGzipIsTakenAsAHandlerFile() throws {
        // Not gzip: the bytes are the handler itself, not an archive.
        var tar = TarBuilder()
        tar.file("evil/../../x", "x")
        try withTemporaryDirectory { parent in
            try CodeBundle().unpack(Data(tar.finished()), runtime: .python3, into: parent + "/code")
            #expect(listing(parent + "/code") == ["handler.py"])
        }
    }

    // MARK: limits

    @Test func decompressionBombIsTooLarge() throws {
        let zeros = try gzip([UInt8](repeating: 0, count: 100 * 1024 * 1024))
        #expect(zeros.count < 1024 * 1024)
        try expectRefused(zeros, .tooLarge)
    }

    @Test func tarBombWithBigFileIsTooLarge() throws {
        var tar = TarBuilder()
        tar.file("handler.py", handlerPy)
        // Small enough to decompress within the slack, larger than the 64 MiB of files allowed.
        tar.file("big.bin", [UInt8](repeating: 0, count: 64 * 1024 * 1024 + 4096))
        try expectRefused(try tar.gzipped(), .tooLarge, messageContains: "unpacks to more than")
    }

    @Test func unpackedSizeLimitCountsAllFiles() throws {
        let limits = CodeBundle.Limits(maxUnpackedBytes: 4096, maxEntries: 100)
        let code = try bundle { tar in
            for i in 0..<5 { tar.file("f\(i)", [UInt8](repeating: 1, count: 1000)) }
        }
        try expectRefused(code, .tooLarge, limits: limits, messageContains: "4096")
        // Just under the limit is fine.
        let fits = try bundle { tar in
            for i in 0..<3 { tar.file("f\(i)", [UInt8](repeating: 1, count: 1000)) }
        }
        try CodeBundle(limits: limits).validate(fits, runtime: .python3)
    }

    @Test func tooManyEntriesIsTooLarge() throws {
        let limits = CodeBundle.Limits(maxEntries: 3)
        let code = try bundle { tar in
            tar.directory("d")
            tar.file("d/a", "a")
            tar.file("d/b", "b")
        }
        try expectRefused(code, .tooLarge, limits: limits, messageContains: "3 entries")
        let fits = try bundle { tar in
            tar.file("a", "a")
            tar.file("b", "b")
        }
        try CodeBundle(limits: limits).validate(fits, runtime: .python3)
    }

    @Test func manyEmptyEntriesWithDefaultLimitsIsTooLarge() throws {
        let code = try bundle { tar in
            for i in 0..<10_001 { tar.directory("d\(i)") }
        }
        try expectRefused(code, .tooLarge)
    }

    @Test func manyDeepEntriesAreCheckedQuickly() throws {
        // 10,000 entries 200 levels deep: the through-a-symlink check must not be quadratic.
        let deep = (0..<200).map { "d\($0)" }.joined(separator: "/")
        let code = try bundle { tar in
            for i in 0..<9_000 {
                tar.gnuLong("L", deep + "/f\(i)")
                tar.file("x", "")
            }
        }
        let start = ContinuousClock.now
        try CodeBundle().validate(code, runtime: .python3)
        #expect(ContinuousClock.now - start < .seconds(10))
    }

    // MARK: normalize / checkLink

    @Test func normalize() throws {
        #expect(try CodeBundle.normalize("./a//b/./c/") == "a/b/c")
        #expect(try CodeBundle.normalize("./") == "")
        #expect(try CodeBundle.normalize("a..b/..c") == "a..b/..c")
        #expect(try CodeBundle.normalize("...") == "...")
        for bad in ["..", "../a", "a/..", "/a", "a/\0b"] {
            #expect(throws: SwiftletError.self, "\(bad)") { try CodeBundle.normalize(bad) }
        }
    }

    @Test func checkLink() throws {
        try CodeBundle.checkLink("a", from: "link")
        try CodeBundle.checkLink("./a/../b", from: "link")
        try CodeBundle.checkLink("..", from: "sub/link")
        try CodeBundle.checkLink("../../x", from: "a/b/link")
        for (target, path) in [("..", "link"), ("../../x", "sub/link"), ("/abs", "link"), ("", "link"), ("a/../../x", "link")] {
            #expect(throws: SwiftletError.self, "\(path) -> \(target)") { try CodeBundle.checkLink(target, from: path) }
        }
    }
}
