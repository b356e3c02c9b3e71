import Foundation
import SwiftletCore
@testable import SwiftletImages
import Testing

@Suite struct ImageReferenceTests {
    let hex = String(repeating: "ab", count: 32)

    @Test(arguments: [
        ("busybox", "docker.io/library/busybox:latest"),
        ("busybox:1.36", "docker.io/library/busybox:1.36"),
        ("library/busybox", "docker.io/library/busybox:latest"),
        ("docker.io/busybox", "docker.io/library/busybox:latest"),
        ("index.docker.io/library/busybox:1", "docker.io/library/busybox:1"),
        ("openfaas/figlet", "docker.io/openfaas/figlet:latest"),
        ("ghcr.io/openfaas/figlet:0.1", "ghcr.io/openfaas/figlet:0.1"),
        ("localhost:5000/x/y:t", "localhost:5000/x/y:t"),
        ("localhost/x", "localhost/x:latest"),
        ("127.0.0.1:5000/a_b/c__d/e--f.g:V1.0_rc-1", "127.0.0.1:5000/a_b/c__d/e--f.g:V1.0_rc-1"),
        ("[::1]:5000/app", "[::1]:5000/app:latest"),
    ])
    func normalizes(_ input: String, _ expected: String) throws {
        #expect(try ImageReference(parsing: input).description == expected)
    }

    @Test func splitsParts() throws {
        let reference = try ImageReference(parsing: "localhost:5000/x/y:t")
        #expect(reference.registry == "localhost:5000")
        #expect(reference.repository == "x/y")
        #expect(reference.tag == "t")
        #expect(reference.digest == nil)
        let hub = try ImageReference(parsing: "busybox")
        #expect(hub.registry == "docker.io")
        #expect(hub.repository == "library/busybox")
        #expect(hub.tag == "latest")
    }

    @Test func digests() throws {
        let pinned = try ImageReference(parsing: "busybox@sha256:" + hex)
        #expect(pinned.tag == nil)
        #expect(pinned.digest?.hex == hex)
        #expect(pinned.description == "docker.io/library/busybox@sha256:" + hex)
        let both = try ImageReference(parsing: "ghcr.io/a/b:1.0@sha256:" + hex)
        #expect(both.tag == "1.0")
        #expect(both.description == "ghcr.io/a/b:1.0@sha256:" + hex)
    }

    @Test(arguments: [
        "", "Busybox", "docker.io/Library/busybox", "busybox:", "busybox:-x", "busybox:.x", "busybox:a b", "busybox:tag!",
        "busybox:" + String(repeating: "t", count: 129), "busybox@sha256:abc", "busybox@md5:" + String(repeating: "a", count: 32),
        "busybox@sha256:" + String(repeating: "A", count: 64), "a//b", "a/b/", "-a/b", "a__-b", "a..b", "bad host:1/x",
        "localhost:port/x", String(repeating: "ab", count: 32), "ghcr.io/",
    ])
    func refusesInvalid(_ input: String) throws {
        #expect {
            try ImageReference(parsing: input)
        } throws: { error in
            guard let error = error as? SwiftletError else { return false }
            return error.code == .invalidInput && error.message.contains("invalid image reference")
        }
    }

    @Test func acceptsLongestTag() throws {
        let tag = String(repeating: "t", count: 128)
        #expect(try ImageReference(parsing: "busybox:" + tag).tag == tag)
    }

    @Test func withTag() throws {
        let reference = try ImageReference(parsing: "ghcr.io/a/b@sha256:" + hex).withTag("2")
        #expect(reference.description == "ghcr.io/a/b:2")
    }
}

@Suite struct DigestTests {
    @Test func parsesAndPrints() throws {
        let hex = String(repeating: "0f", count: 32)
        let digest = try Digest("sha256:" + hex)
        #expect(digest.hex == hex)
        #expect(digest.description == "sha256:" + hex)
        #expect(digest.short == String(hex.prefix(12)))
        #expect(Digest.sha256(of: Array("hello".utf8)).hex == "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824")
    }

    @Test func refusesOthers() throws {
        let invalid = ["sha256:abc", "sha256:" + String(repeating: "G", count: 64), "nope", "sha256:" + String(repeating: "a", count: 65), "md5:x"]
        for text in invalid {
            #expect(throws: SwiftletError.self) { try Digest(text) }
        }
        #expect {
            try Digest("sha512:" + String(repeating: "a", count: 128))
        } throws: { ($0 as? SwiftletError)?.code == .unsupported }
    }

    @Test func codable() throws {
        let digest = Digest.sha256(of: [1, 2, 3])
        let data = try JSONEncoder().encode([digest])
        #expect(try JSONDecoder().decode([Digest].self, from: data) == [digest])
        #expect(throws: DecodingError.self) { try JSONDecoder().decode([Digest].self, from: Data(#"["sha256:zz"]"#.utf8)) }
    }
}
