import Foundation
import SwiftletCore
import Testing

@testable import SwiftletImages

/// What docker-registry will not serve (manifests over 4 MiB, Docker media types, redirects,
/// a lying `Docker-Content-Digest`), from a small fake registry written in Python.
@Suite("Registry pulls from a fake registry")
struct RegistryFakeServerTests {
    /// The files a fake registry serves.
    struct Files {
        let root: URL

        func put(_ path: String, _ data: Data, type: String? = nil, digest: String? = nil, redirect: String? = nil, close: Bool = false)
            throws
        {
            let file = root.appendingPathComponent(path)
            try FileManager.default.createDirectory(at: file.deletingLastPathComponent(), withIntermediateDirectories: true)
            try data.write(to: file)
            let extras = [("type", type), ("digest", digest), ("redirect", redirect), ("close", close ? "" : nil)]
            for case (let suffix, let value?) in extras {
                try value.write(to: URL(fileURLWithPath: file.path + "." + suffix), atomically: false, encoding: .utf8)
            }
        }

        /// Every blob of `image` under `/v2/<repository>/blobs/`.
        func putBlobs(_ image: RegistryTestImage, repository: String) throws {
            for blob in [image.config] + image.layers {
                try put("v2/\(repository)/blobs/\(RegistryTestImage.digest(blob))", blob)
            }
        }
    }

    func withFakeRegistry(_ body: (RegistryPythonServer, Files, ImageLayout) async throws -> Void) async throws {
        try await withRegistryDirectory { directory in
            let files = Files(root: directory.appendingPathComponent("root"))
            try FileManager.default.createDirectory(at: files.root, withIntermediateDirectories: true)
            let server = try await RegistryPythonServer(
                name: "fake_registry", script: RegistryFixtureScripts.fakeRegistry, arguments: [files.root.path], directory: directory
            )
            let layout = ImageLayout(dataDirectory: directory.appendingPathComponent("data").path)
            do {
                try await body(server, files, layout)
            } catch {
                await server.stop()
                throw error
            }
            await server.stop()
        }
    }

    @Test func manifestsOver4MiBAreRefused() async throws {
        try await withFakeRegistry { server, files, layout in
            let huge = Data(repeating: 0x20, count: (4 << 20) + 1)
            try files.put("v2/demo/huge/manifests/declared", huge, type: RegistryMediaType.ociManifest)
            try files.put("v2/demo/huge/manifests/streamed", huge, type: RegistryMediaType.ociManifest, close: true)
            for tag in ["declared", "streamed"] {
                let error = await registryPullError(RegistryPullTests.client(), "\(server.host)/demo/huge:\(tag)", layout)
                #expect(error?.code == .tooLarge)
                #expect(error?.message.contains("larger than the 4 MiB limit") == true)
            }
            #expect(RegistryPullTests.partials(layout).isEmpty)
        }
    }

    @Test func dockerManifestListAndRedirectedBlobs() async throws {
        try await withFakeRegistry { server, files, layout in
            let amd64 = try RegistryTestImage.make(layerMediaType: RegistryMediaType.dockerLayerGzip)
            let arm64 = try RegistryTestImage.make(architecture: "arm64", layerMediaType: RegistryMediaType.dockerLayerGzip)
            var list = try JSONDecoder().decode(
                RegistryIndex.self,
                from: try RegistryTestImage.index([(arm64, RegistryPlatform(os: "linux", architecture: "arm64")), (amd64, .linuxAmd64)])
            )
            list.mediaType = RegistryMediaType.dockerManifestList
            for index in list.manifests.indices { list.manifests[index].mediaType = RegistryMediaType.dockerManifest }
            let listBytes = try JSONEncoder().encode(list)
            try files.put("v2/demo/app/manifests/1", listBytes, type: RegistryMediaType.dockerManifestList)
            try files.put("v2/demo/app/manifests/\(amd64.manifestDigest)", amd64.manifest, type: RegistryMediaType.dockerManifest)
            // Blobs answer 307 to a storage path, as registries backed by S3 do.
            for blob in [amd64.config] + amd64.layers {
                let digest = RegistryTestImage.digest(blob)
                try files.put("storage/\(digest)", blob)
                try files.put("v2/demo/app/blobs/\(digest)", Data(), redirect: "/storage/\(digest)")
            }
            let result = try await RegistryPullTests.client().pull(reference: "\(server.host)/demo/app:1", into: layout)
            #expect(result.manifestDigest == amd64.manifestDigest)
            #expect(result.indexDigest == RegistryTestImage.digest(listBytes))
            #expect(result.config == amd64.config)
            for (descriptor, data) in zip(amd64.layerDescriptors, amd64.layers) {
                #expect(RegistryPullTests.contents(layout.blob(RegistryTestImage.hex(descriptor.digest))) == data)
            }
            #expect(server.requests.filter { $0.hasPrefix("/storage/") }.count == 3)
        }
    }

    @Test func lyingContentDigestIsRejected() async throws {
        try await withFakeRegistry { server, files, layout in
            let image = try RegistryTestImage.make()
            let other = "sha256:" + String(repeating: "0", count: 64)
            try files.put("v2/demo/app/manifests/1", image.manifest, type: RegistryMediaType.ociManifest, digest: other)
            try files.putBlobs(image, repository: "demo/app")
            let error = await registryPullError(RegistryPullTests.client(), "\(server.host)/demo/app:1", layout)
            #expect(error?.message.contains("digest mismatch for the manifest") == true)
            #expect(error?.message.contains("expected \(other), got \(image.manifestDigest)") == true)
        }
    }

    @Test func pullByDigestChecksTheManifestBytes() async throws {
        try await withFakeRegistry { server, files, layout in
            let image = try RegistryTestImage.make()
            let tampered = try RegistryTestImage.make(randomBytes: 1000)
            try files.put("v2/demo/app/manifests/\(image.manifestDigest)", tampered.manifest, type: RegistryMediaType.ociManifest)
            let error = await registryPullError(RegistryPullTests.client(), "\(server.host)/demo/app@\(image.manifestDigest)", layout)
            #expect(error?.message.contains("digest mismatch for the manifest") == true)
            #expect(!FileManager.default.fileExists(atPath: layout.blob(RegistryTestImage.hex(image.manifestDigest))))
        }
    }
}
