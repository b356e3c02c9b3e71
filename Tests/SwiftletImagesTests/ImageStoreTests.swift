import Foundation
import SwiftletCore
@testable import SwiftletImages
import Testing

@Suite struct ImageStoreTests {
    /// A two-layer image: a gzip'd base and a plain upper layer with whiteouts and an opaque dir.
    static func image() throws -> TestImage {
        var image = TestImage()
        let layers = LayerUnpackerTests.layers()
        try image.addLayer(layers[0])
        try image.addLayer(layers[1], compressed: false)
        return image
    }

    static func expectRootfs(_ resolved: ResolvedImage) {
        let root = resolved.rootfs
        #expect(text(root + "/etc/os-release") == "upper\n")
        #expect(!FileManager.default.fileExists(atPath: root + "/gone.txt"))
        #expect(names(in: root + "/opq") == ["new"])
        #expect(linkTarget(root + "/etc/tool-link") == "/usr/bin/tool")
        #expect(fileStatus(root + "/usr/bin/tool")?.st_ino == fileStatus(root + "/usr/bin/tool-alias")?.st_ino)
        #expect((fileStatus(root + "/usr/bin/tool")?.st_mode ?? 0) & 0o7000 == 0)
        #expect(names(in: root + "/dev").isEmpty)
    }

    @Test func importsDockerSaveAndResolves() async throws {
        try await withTemporaryDirectory { directory in
            let image = try Self.image()
            try write(image.dockerSave(repoTags: ["hello:1.0", "ghcr.io/acme/hello:1.0"]), to: directory + "/image.tar")
            let store = makeStore(directory)
            let imported = try await store.importArchive(path: directory + "/image.tar")
            #expect(imported.map(\.reference) == ["docker.io/library/hello:1.0", "ghcr.io/acme/hello:1.0"])
            let listed = try await store.list()
            #expect(listed == imported)
            let first = try #require(listed.first)
            #expect(first.size > 0)
            #expect(abs((first.created?.timeIntervalSince1970 ?? 0) - 1_714_979_289.123456789) < 0.001)

            let resolved = try await store.resolve("hello:1.0")
            #expect(resolved.reference == "docker.io/library/hello:1.0")
            #expect(resolved.manifestDigest == first.manifestDigest)
            #expect(resolved.rootfs == store.layout.rootfs + "/" + resolved.manifestDigest.dropFirst(7))
            #expect(
                resolved.config
                    == ImageConfig(
                        entrypoint: ["/usr/bin/tool"], cmd: ["--serve"], env: ["PATH=/usr/bin:/bin", "MODE=test"], workingDir: "/srv",
                        user: "1000:1000", exposedPorts: ["8080/tcp", "9090/udp"]
                    )
            )
            Self.expectRootfs(resolved)
            // The manifest the importer wrote is an OCI manifest in the blob store.
            let manifestDigest = try Digest(resolved.manifestDigest)
            guard case .manifest(let manifest) = try ManifestDocument.decode(store.blobs.read(manifestDigest), what: "m") else {
                Issue.record("not a manifest")
                return
            }
            #expect(manifest.layers.map(\.mediaType) == [ImageMediaType.ociLayerGzip, ImageMediaType.ociLayer])
            // Both names share the rootfs; a second resolve reuses it.
            #expect(try await store.resolve("ghcr.io/acme/hello:1.0").rootfs == resolved.rootfs)
            #expect(try await store.resolve(resolved.manifestDigest).reference == "docker.io/library/hello:1.0")
            #expect(names(in: store.layout.rootfs) == [String(resolved.manifestDigest.dropFirst(7))])
        }
    }

    @Test func importsGzippedArchiveWithTagOverride() async throws {
        try await withTemporaryDirectory { directory in
            let image = try Self.image()
            try write(gzip(image.dockerSave(repoTags: nil)), to: directory + "/image.tar.gz")
            let store = makeStore(directory)
            let imported = try await store.importArchive(path: directory + "/image.tar.gz", tag: "localhost:5000/team/app:v2")
            #expect(imported.map(\.reference) == ["localhost:5000/team/app:v2"])
            Self.expectRootfs(try await store.resolve("localhost:5000/team/app:v2"))
        }
    }

    @Test func importsOCILayouts() async throws {
        try await withTemporaryDirectory { directory in
            let image = try Self.image()
            let store = makeStore(directory)
            try write(image.ociLayout(annotations: [OCIDescriptor.refNameAnnotation: "ghcr.io/acme/oci:1"]), to: directory + "/full.tar")
            #expect(try await store.importArchive(path: directory + "/full.tar").map(\.reference) == ["ghcr.io/acme/oci:1"])

            // A multi-platform index: linux/amd64 is chosen, the missing arm64 and attestation entries are ignored.
            try write(
                image.ociLayout(annotations: [OCIDescriptor.imageNameAnnotation: "docker.io/library/multi:2"], platformIndex: true),
                to: directory + "/multi.tar"
            )
            #expect(try await store.importArchive(path: directory + "/multi.tar").map(\.reference) == ["docker.io/library/multi:2"])
            let multi = try await store.resolve("multi:2")
            #expect(multi.manifestDigest == image.manifest.digest.description)
            Self.expectRootfs(multi)

            // A bare tag names no repository: it needs --tag.
            try write(image.ociLayout(annotations: [OCIDescriptor.refNameAnnotation: "latest"]), to: directory + "/bare.tar")
            let error = await swiftletError { try await store.importArchive(path: directory + "/bare.tar") }
            #expect(error?.code == .invalidInput)
            #expect(error?.message.contains("--tag") == true)
            let tagged = try await store.importArchive(path: directory + "/bare.tar", tag: "bare:latest")
            #expect(tagged.map(\.reference) == ["docker.io/library/bare:latest"])
            #expect(try await store.list().count == 3)
        }
    }

    @Test func unknownReferenceIsNotFound() async throws {
        try await withTemporaryDirectory { directory in
            let store = makeStore(directory)
            let error = await swiftletError { _ = try await store.resolve("nothing:here") }
            #expect(error?.code == .notFound)
            #expect(error?.message.contains("swiftlet image import") == true)
            #expect(error?.message.contains("swiftlet image pull") == true)
            let bad = await swiftletError { _ = try await store.resolve("Bad Name") }
            #expect(bad?.code == .invalidInput)
            let remove = await swiftletError { try await store.remove("nothing:here") }
            #expect(remove?.code == .notFound)
        }
    }

    @Test func concurrentResolvesUnpackOnce() async throws {
        try await withTemporaryDirectory { directory in
            var image = try Self.image()
            var big = TarBuilder()
            big.file("big.bin", sampleBytes(4_000_000))
            try image.addLayer(big.finished)
            try write(image.dockerSave(repoTags: ["big:1"]), to: directory + "/image.tar")
            let store = makeStore(directory)
            try await store.importArchive(path: directory + "/image.tar")
            let rootfsPaths = try await withThrowingTaskGroup(of: String.self) { group in
                for _ in 0..<8 { group.addTask { try await store.resolve("big:1").rootfs } }
                return try await group.reduce(into: Set<String>()) { $0.insert($1) }
            }
            #expect(rootfsPaths.count == 1)
            #expect(names(in: store.layout.rootfs).count == 1)
            #expect(FileManager.default.contents(atPath: rootfsPaths.first! + "/big.bin")?.count == 4_000_000)
        }
    }

    @Test func registersPulledImages() async throws {
        try await withTemporaryDirectory { directory in
            let image = try Self.image()
            let store = makeStore(directory)
            let reference = try ImageReference(parsing: "registry.example.com/team/pulled:3")
            for blob in [image.config] + image.layers {
                try store.blobs.write(data: blob.bytes, expected: blob.digest)
            }
            // The manifest is there but a layer is not: refused.
            let manifest = image.manifest
            try store.blobs.write(data: manifest.bytes, expected: manifest.digest)
            try store.blobs.remove(image.layers[1].digest)
            let missing = await swiftletError { try await store.register(reference: reference, manifestDigest: manifest.digest) }
            #expect(missing?.code == .notFound)
            #expect(try await store.list().isEmpty)

            try store.blobs.write(data: image.layers[1].bytes, expected: image.layers[1].digest)
            try await store.register(reference: reference, manifestDigest: manifest.digest)
            Self.expectRootfs(try await store.resolve("registry.example.com/team/pulled:3"))
        }
    }

    @Test func removeAndGarbageCollect() async throws {
        try await withTemporaryDirectory { directory in
            let store = makeStore(directory)
            let one = try Self.image()
            var two = TestImage()
            try two.addLayer(LayerUnpackerTests.layers()[0])  // shares the base layer with `one`
            var extra = TarBuilder()
            extra.file("two", "2")
            try two.addLayer(extra.finished)
            try write(one.dockerSave(repoTags: ["one:1"]), to: directory + "/one.tar")
            try write(two.dockerSave(repoTags: ["two:1"]), to: directory + "/two.tar")
            try await store.importArchive(path: directory + "/one.tar")
            try await store.importArchive(path: directory + "/two.tar")
            let oneRootfs = try await store.resolve("one:1").rootfs
            let twoRootfs = try await store.resolve("two:1").rootfs
            #expect(try await store.garbageCollect().blobs.isEmpty)
            let blobsBefore = try store.blobs.all()

            try await store.remove("one:1")
            #expect(try await store.list().map(\.reference) == ["docker.io/library/two:1"])
            let error = await swiftletError { _ = try await store.resolve("one:1") }
            #expect(error?.code == .notFound)

            let dryRun = try await store.garbageCollect(dryRun: true)
            #expect(dryRun.dryRun)
            #expect(dryRun.rootfs == [oneRootfs])
            // one's manifest, config and upper layer go; the shared base layer stays.
            #expect(dryRun.blobs.count == 3)
            #expect(!dryRun.blobs.contains(one.layers[0].digest))
            #expect(dryRun.reclaimedBytes > 0)
            #expect(try store.blobs.all() == blobsBefore)
            #expect(FileManager.default.fileExists(atPath: oneRootfs))

            let collected = try await store.garbageCollect()
            #expect(collected.blobs == dryRun.blobs)
            #expect(!FileManager.default.fileExists(atPath: oneRootfs))
            #expect(FileManager.default.fileExists(atPath: twoRootfs))
            #expect(Set(try store.blobs.all()) == Set(blobsBefore).subtracting(dryRun.blobs))
            #expect(text(try await store.resolve("two:1").rootfs + "/two") == "2")

            try await store.remove("two:1")
            _ = try await store.garbageCollect()
            #expect(names(in: store.layout.blobs).isEmpty)
            #expect(names(in: store.layout.rootfs).isEmpty)
        }
    }
}
