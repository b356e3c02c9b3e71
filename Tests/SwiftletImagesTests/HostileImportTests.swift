import Foundation
import SwiftletCore
@testable import SwiftletImages
import Testing

/// Archives and images that must be refused. After every refusal the store is exactly as before:
/// no new blob, no rootfs or staging dir, the same index.
@Suite struct HostileImportTests {
    /// A store already holding one good image, so "unchanged" is checked against a non-empty store.
    static func storeWithImage(_ directory: String) async throws -> ImageStore {
        let store = makeStore(directory)
        try write(try ImageStoreTests.image().dockerSave(repoTags: ["good:1"]), to: directory + "/good.tar")
        try await store.importArchive(path: directory + "/good.tar")
        _ = try await store.resolve("good:1")
        return store
    }

    /// Imports `archive`, expects `code` and a message containing `phrase`, and an unchanged store.
    static func expectRefused(
        _ archive: [UInt8], tag: String? = nil, code: SwiftletError.Code = .invalidInput, phrase: String, in directory: String
    ) async throws {
        let store = try await storeWithImage(directory)
        let before = StoreSnapshot(store.layout)
        try write(archive, to: directory + "/bad.tar")
        let error = await swiftletError { try await store.importArchive(path: directory + "/bad.tar", tag: tag) }
        #expect(error?.code == code)
        #expect(error?.message.contains(phrase) == true, "\(error?.message ?? "no error")")
        #expect(StoreSnapshot(store.layout) == before)
        #expect(try await store.list().map(\.reference) == ["docker.io/library/good:1"])
    }

    static func layer(_ build: (inout TarBuilder) -> Void) -> [UInt8] {
        var tar = TarBuilder()
        build(&tar)
        return tar.finished
    }

    @Test func layerDigestNotMatchingTheManifest() async throws {
        try await withTemporaryDirectory { directory in
            let image = try ImageStoreTests.image()
            let tampered = try gzip(Self.layer { $0.file("etc/os-release", "tampered") })
            let archive = image.ociLayout(
                annotations: [OCIDescriptor.refNameAnnotation: "x/y:1"], replacing: [image.layers[0].digest: tampered]
            )
            try await Self.expectRefused(archive, phrase: "digest mismatch", in: directory)
        }
    }

    @Test func dockerSaveLayerNamedByAWrongDigest() async throws {
        try await withTemporaryDirectory { directory in
            let image = try ImageStoreTests.image()
            let wrong = "blobs/sha256/" + Digest.sha256(of: [9]).hex
            let archive = image.dockerSave(repoTags: ["x:1"], layerNames: [wrong, "layer1/layer.tar"])
            try await Self.expectRefused(archive, phrase: "digest mismatch", in: directory)
        }
    }

    @Test func truncatedGzipLayer() async throws {
        try await withTemporaryDirectory { directory in
            var image = TestImage()
            let tar = Self.layer { $0.file("big", sampleBytes(200_000)) }
            try image.addLayer(tar)
            image.layers[0].bytes = Array(image.layers[0].bytes.prefix(image.layers[0].bytes.count - 100))
            try await Self.expectRefused(image.dockerSave(repoTags: ["x:1"]), phrase: "truncated", in: directory)
        }
    }

    @Test func manifestNamingAMissingBlob() async throws {
        try await withTemporaryDirectory { directory in
            let image = try ImageStoreTests.image()
            let archive = image.ociLayout(annotations: [OCIDescriptor.refNameAnnotation: "x/y:1"], skipping: [image.layers[1].digest])
            try await Self.expectRefused(archive, phrase: "does not contain", in: directory)
            let dockerSave = image.dockerSave(repoTags: ["x:1"], layerNames: ["layer0/layer.tar", "missing/layer.tar"])
            try await Self.expectRefused(dockerSave, phrase: "does not contain", in: directory)
        }
    }

    @Test func configWithAWrongDiffID() async throws {
        try await withTemporaryDirectory { directory in
            var image = try ImageStoreTests.image()
            image.configJSON["rootfs"] = ["type": "layers", "diff_ids": [image.diffIDs[0].description, Digest.sha256(of: [7]).description]]
            try await Self.expectRefused(image.dockerSave(repoTags: ["x:1"]), phrase: "diff_id mismatch", in: directory)
            image.configJSON["rootfs"] = ["type": "layers", "diff_ids": [Digest.sha256(of: [7]).description, image.diffIDs[1].description]]
            let layout = image.ociLayout(annotations: [OCIDescriptor.refNameAnnotation: "x/y:1"])
            try await Self.expectRefused(layout, phrase: "diff_id mismatch", in: directory)
        }
    }

    @Test func badReferences() async throws {
        try await withTemporaryDirectory { directory in
            let image = try ImageStoreTests.image()
            try await Self.expectRefused(image.dockerSave(repoTags: ["Bad:Tag!"]), phrase: "invalid image reference", in: directory)
            let named = image.dockerSave(repoTags: ["x:1"])
            try await Self.expectRefused(named, tag: "no spaces:allowed", phrase: "invalid image reference", in: directory)
            try await Self.expectRefused(image.dockerSave(repoTags: nil), phrase: "--tag", in: directory)
        }
    }

    @Test func zstdLayers() async throws {
        try await withTemporaryDirectory { directory in
            var image = try ImageStoreTests.image()
            image.layerMediaTypes[1] = ImageMediaType.ociLayerZstd
            let archive = image.ociLayout(annotations: [OCIDescriptor.refNameAnnotation: "x/y:1"])
            try await Self.expectRefused(archive, code: .unsupported, phrase: "zstd", in: directory)
        }
    }

    @Test func brokenArchives() async throws {
        try await withTemporaryDirectory { directory in
            let image = try ImageStoreTests.image()
            let archive = image.dockerSave(repoTags: ["x:1"])
            try await Self.expectRefused(Array(archive.prefix(archive.count / 2 + 100)), phrase: "not a valid tar archive", in: directory)
            let notTar = Array("just some text, not a tar file at all".utf8) + [UInt8](repeating: 1, count: 600)
            try await Self.expectRefused(notTar, phrase: "tar", in: directory)
            try await Self.expectRefused(Self.layer { $0.file("hello.txt", "hi") }, phrase: "neither", in: directory)
            let store = makeStore(directory)
            let missing = await swiftletError { try await store.importArchive(path: directory + "/does-not-exist.tar") }
            #expect(missing?.code == .notFound)
        }
    }

    @Test func hostileLayerFailsAtResolveAndLeavesNothing() async throws {
        try await withTemporaryDirectory { directory in
            let outside = try HostileLayerTests.makeOutside(directory)
            var image = TestImage()
            try image.addLayer(Self.layer { $0.symlink("evil", to: outside) })
            try image.addLayer(Self.layer { $0.file("evil/passwd", "hacked::0:0\n") })
            let store = try await Self.storeWithImage(directory)
            try write(image.dockerSave(repoTags: ["evil:1"]), to: directory + "/evil.tar")
            try await store.importArchive(path: directory + "/evil.tar")
            let before = StoreSnapshot(store.layout)
            let error = await swiftletError { _ = try await store.resolve("evil:1") }
            #expect(error?.code == .invalidInput)
            #expect(error?.message.contains("through the symlink") == true)
            #expect(StoreSnapshot(store.layout) == before)
            #expect(names(in: store.layout.rootfs).count == 1)
            #expect(text(outside + "/passwd") == "root:x:0:0\n")
        }
    }
}
