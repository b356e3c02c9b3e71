import Foundation
import SwiftletCore
import Testing

@testable import SwiftletImages

@Suite("Registry references, challenges and media types")
struct RegistryReferenceTests {
    @Test func parsesHostPortRepositoryAndTag() throws {
        let ref = try RegistryReference(parsing: "127.0.0.1:5000/team/hello:1.0")
        #expect(ref.host == "127.0.0.1:5000")
        #expect(ref.apiHost == "127.0.0.1:5000")
        #expect(ref.repository == "team/hello")
        #expect(ref.tag == "1.0")
        #expect(ref.digest == nil)
        #expect(ref.manifestReference == "1.0")
        #expect(ref.description == "127.0.0.1:5000/team/hello:1.0")
    }

    @Test func defaultsToLatestAndDockerHub() throws {
        let local = try RegistryReference(parsing: "localhost/hello")
        #expect(local.host == "localhost")
        #expect(local.description == "localhost/hello:latest")
        let hub = try RegistryReference(parsing: "alpine")
        #expect(hub.host == "docker.io")
        #expect(hub.apiHost == "registry-1.docker.io")
        #expect(hub.repository == "library/alpine")
        #expect(hub.description == "docker.io/library/alpine:latest")
        #expect(try RegistryReference(parsing: "user/app:v2").repository == "user/app")
    }

    @Test func parsesDigests() throws {
        let digest = "sha256:" + String(repeating: "ab", count: 32)
        let pinned = try RegistryReference(parsing: "registry.example:443/app@" + digest)
        #expect(pinned.tag == nil)
        #expect(pinned.digest == digest)
        #expect(pinned.manifestReference == digest)
        #expect(pinned.description == "registry.example:443/app@" + digest)
        let both = try RegistryReference(parsing: "registry.example/app:1@" + digest)
        #expect(both.tag == "1")
        #expect(both.manifestReference == digest)
    }

    @Test(arguments: [
        "", "127.0.0.1:5000/", "127.0.0.1:5000/Hello", "127.0.0.1:5000/a//b", "127.0.0.1:5000/a:", "127.0.0.1:5000/a:-x",
        "127.0.0.1:5000/a@sha256:1234", "127.0.0.1:5000/a@md5:" + String(repeating: "0", count: 32), "127.0.0.1:x/a",
        "127.0.0.1:5000/-a", "127.0.0.1:5000/a..b/../c",
    ])
    func rejectsInvalidReferences(_ text: String) {
        #expect {
            try RegistryReference(parsing: text)
        } throws: { error in
            let error = error as? SwiftletError
            return error?.code == .invalidInput && error?.message.contains("host[:port]/repository") == true
        }
    }

    @Test func acceptsRepositorySeparators() throws {
        for text in ["h.io/a.b", "h.io/a_b", "h.io/a__b", "h.io/a---b/c-d"] {
            #expect(try RegistryReference(parsing: text).host == "h.io")
        }
        for text in ["h.io/a___b", "h.io/a.-b", "h.io/a_"] {
            #expect(throws: SwiftletError.self) { try RegistryReference(parsing: text) }
        }
    }

    @Test func parsesBearerChallenges() throws {
        let header = #"Bearer realm="https://auth.example/token",service="registry.example",scope="repository:a/b:pull,push""#
        let challenge = try #require(RegistryAuthChallenge(header: header))
        #expect(challenge.scheme == "bearer")
        #expect(challenge.parameters["realm"] == "https://auth.example/token")
        #expect(challenge.parameters["service"] == "registry.example")
        #expect(challenge.parameters["scope"] == "repository:a/b:pull,push")
        let basic = try #require(RegistryAuthChallenge(header: #"Basic realm="my \"realm\"""#))
        #expect(basic.scheme == "basic")
        #expect(basic.parameters["realm"] == #"my "realm""#)
        let bare = try #require(RegistryAuthChallenge(header: "bearer realm=http://x/t, service=s"))
        #expect(bare.parameters == ["realm": "http://x/t", "service": "s"])
        #expect(RegistryAuthChallenge(header: "  ") == nil)
    }

    @Test func readsContentRangeStart() {
        #expect(RegistryBlobDownloader.rangeStart("bytes 1000-1999/2000") == 1000)
        #expect(RegistryBlobDownloader.rangeStart("items 1-2/3") == nil)
        #expect(RegistryBlobDownloader.rangeStart(nil) == nil)
    }

    @Test func matchesPlatforms() {
        #expect(RegistryPlatform.linuxAmd64.accepts(RegistryPlatform(os: "linux", architecture: "amd64", variant: "v3")))
        #expect(!RegistryPlatform.linuxAmd64.accepts(RegistryPlatform(os: "linux", architecture: "arm64")))
        #expect(RegistryPlatform(os: "linux", architecture: "arm", variant: "v7").description == "linux/arm/v7")
    }

    @Test func credentialsNeverShowThePassword() {
        let credentials = RegistryCredentials(username: "alice", password: "s3cret")
        #expect(!"\(credentials)".contains("s3cret"))
        #expect(credentials.basicAuthorization == "Basic " + Data("alice:s3cret".utf8).base64EncodedString())
    }
}
