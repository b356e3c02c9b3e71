import Foundation
import Logging
import SwiftletCore
import Testing

@testable import SwiftletImages

/// Pulls from a real docker-registry on 127.0.0.1.
@Suite("Registry pulls")
struct RegistryPullTests {
    static func client(_ configuration: RegistryClient.Configuration = .init(insecure: true)) -> RegistryClient {
        RegistryClient(configuration: configuration, logger: Logger(label: "swiftlet.registry.tests"))
    }

    static func layout(_ server: RegistryServer) -> ImageLayout {
        ImageLayout(dataDirectory: server.directory.appendingPathComponent("data").path)
    }

    static func contents(_ path: String) -> Data? { FileManager.default.contents(atPath: path) }

    static func partials(_ layout: ImageLayout) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: layout.blobs)) ?? []).filter { $0.hasSuffix(".partial") }
    }

    @Test func pullByTag() async throws {
        try await withRegistry { server in
            let image = try RegistryTestImage.make()
            try await RegistryPusher(host: server.host).push(image, to: "demo/hello", tag: "1.0")
            let layout = Self.layout(server)
            var events: [RegistryProgress] = []
            var configuration = RegistryClient.Configuration(insecure: true)
            configuration.progressInterval = .zero
            let result = try await Self.client(configuration).pull(reference: "\(server.host)/demo/hello:1.0", into: layout) {
                events.append($0)
            }
            #expect(result.reference == "\(server.host)/demo/hello:1.0")
            #expect(result.manifestDigest == image.manifestDigest)
            #expect(result.indexDigest == nil)
            #expect(result.manifest == image.manifest)
            #expect(result.config == image.config)
            #expect(result.layers == image.layerDescriptors)
            for (descriptor, data) in zip(image.layerDescriptors, image.layers) {
                #expect(Self.contents(layout.blob(RegistryTestImage.hex(descriptor.digest))) == data)
            }
            #expect(Self.contents(layout.blob(RegistryTestImage.hex(image.manifestDigest))) == image.manifest)
            #expect(Self.contents(layout.blob(RegistryTestImage.hex(image.configDigest))) == image.config)
            #expect(Self.partials(layout).isEmpty)
            // Progress: bytes per layer as they arrive, then one `.verified` per layer, in order.
            #expect(events.filter { $0.status == .verified }.map(\.digest) == image.layerDescriptors.map(\.digest))
            let big = image.layerDescriptors[1]
            let downloading = events.filter { $0.digest == big.digest && $0.status == .downloading }
            #expect(downloading.count > 1)
            #expect(downloading.map(\.completed) == downloading.map(\.completed).sorted())
            #expect(downloading.allSatisfy { $0.total == big.size && $0.completed <= big.size })
            #expect(
                events.last { $0.digest == big.digest }
                    == RegistryProgress(digest: big.digest, completed: big.size, total: big.size, status: .verified))
        }
    }

    @Test func pullByDigest() async throws {
        try await withRegistry { server in
            let image = try RegistryTestImage.make()
            try await RegistryPusher(host: server.host).push(image, to: "demo/hello", tag: nil)
            let layout = Self.layout(server)
            let reference = "\(server.host)/demo/hello@\(image.manifestDigest)"
            let result = try await Self.client().pull(reference: reference, into: layout)
            #expect(result.reference == reference)
            #expect(result.manifestDigest == image.manifestDigest)
            #expect(result.config == image.config)
            #expect(server.responses(uriContaining: "/manifests/\(image.manifestDigest)").map(\.status) == [200])
            // Pinned by digest with every blob present: nothing to ask the registry.
            let before = server.responses(uriContaining: "/v2/demo/").count
            let again = try await Self.client().pull(reference: reference, into: layout)
            #expect(again.manifest == image.manifest)
            #expect(server.responses(uriContaining: "/v2/demo/").count == before)
        }
    }

    @Test func pullThroughIndexChoosesAmd64() async throws {
        try await withRegistry { server in
            let amd64 = try RegistryTestImage.make(architecture: "amd64")
            let arm64 = try RegistryTestImage.make(architecture: "arm64")
            let pusher = RegistryPusher(host: server.host)
            try await pusher.push(amd64, to: "demo/multi", tag: nil)
            try await pusher.push(arm64, to: "demo/multi", tag: nil)
            let index = try RegistryTestImage.index([
                (arm64, RegistryPlatform(os: "linux", architecture: "arm64")), (amd64, .linuxAmd64),
            ])
            try await pusher.pushManifest("demo/multi", reference: "latest", index, mediaType: RegistryMediaType.ociIndex)
            let layout = Self.layout(server)
            let result = try await Self.client().pull(reference: "\(server.host)/demo/multi", into: layout)
            #expect(result.reference == "\(server.host)/demo/multi:latest")
            #expect(result.manifestDigest == amd64.manifestDigest)
            #expect(result.indexDigest == RegistryTestImage.digest(index))
            #expect(result.config == amd64.config)
            #expect(Self.contents(layout.blob(RegistryTestImage.hex(RegistryTestImage.digest(index)))) == index)
            #expect(Self.contents(layout.blob(RegistryTestImage.hex(amd64.layerDescriptors[1].digest))) == amd64.layers[1])
            #expect(!FileManager.default.fileExists(atPath: layout.blob(RegistryTestImage.hex(arm64.layerDescriptors[1].digest))))
            #expect(server.responses(uriContaining: "/manifests/\(arm64.manifestDigest)").isEmpty)
        }
    }

    @Test func indexWithoutAmd64ListsThePlatforms() async throws {
        try await withRegistry { server in
            let arm64 = try RegistryTestImage.make(architecture: "arm64")
            let arm = try RegistryTestImage.make(architecture: "arm")
            let pusher = RegistryPusher(host: server.host)
            try await pusher.push(arm64, to: "demo/arm", tag: nil)
            try await pusher.push(arm, to: "demo/arm", tag: nil)
            let index = try RegistryTestImage.index([
                (arm64, RegistryPlatform(os: "linux", architecture: "arm64")),
                (arm, RegistryPlatform(os: "linux", architecture: "arm", variant: "v7")),
            ])
            try await pusher.pushManifest("demo/arm", reference: "1", index, mediaType: RegistryMediaType.ociIndex)
            let error = await registryPullError(Self.client(), "\(server.host)/demo/arm:1", Self.layout(server))
            #expect(error?.code == .unsupported)
            #expect(error?.message.contains("no linux/amd64 variant (it has linux/arm64, linux/arm/v7)") == true)
        }
    }

    @Test func pullAgainSkipsPresentBlobs() async throws {
        try await withRegistry { server in
            let image = try RegistryTestImage.make()
            try await RegistryPusher(host: server.host).push(image, to: "demo/hello", tag: "1.0")
            let layout = Self.layout(server)
            let reference = "\(server.host)/demo/hello:1.0"
            _ = try await Self.client().pull(reference: reference, into: layout)
            let blobRequests = server.responses(uriContaining: "/blobs/").count
            #expect(blobRequests == 3)
            var events: [RegistryProgress] = []
            let again = try await Self.client().pull(reference: reference, into: layout) { events.append($0) }
            #expect(again.manifestDigest == image.manifestDigest)
            #expect(server.responses(uriContaining: "/blobs/").count == blobRequests)
            #expect(server.responses(uriContaining: "/manifests/1.0").count == 2)  // a tag may move: asked again
            #expect(events.map(\.status) == [.present, .present])
            #expect(events.map(\.completed) == image.layerDescriptors.map(\.size))
        }
    }

    @Test func unknownTagIsAClearNotFound() async throws {
        try await withRegistry { server in
            try await RegistryPusher(host: server.host).push(try RegistryTestImage.make(), to: "demo/hello", tag: "1.0")
            let error = await registryPullError(Self.client(), "\(server.host)/demo/hello:nope", Self.layout(server))
            #expect(error?.code == .notFound)
            #expect(error?.message.contains("image demo/hello:nope not found in registry \(server.host)") == true)
            let missing = await registryPullError(Self.client(), "\(server.host)/demo/absent", Self.layout(server))
            #expect(missing?.code == .notFound)
        }
    }
}

/// The `SwiftletError` a pull throws (recording an issue if it succeeds or throws something else).
func registryPullError(
    _ client: RegistryClient, _ reference: String, _ layout: ImageLayout, sourceLocation: SourceLocation = #_sourceLocation
) async
    -> SwiftletError?
{
    do {
        _ = try await client.pull(reference: reference, into: layout)
        Issue.record("pulling \(reference) succeeded", sourceLocation: sourceLocation)
    } catch let error as SwiftletError {
        return error
    } catch {
        Issue.record("pulling \(reference) threw \(error), not a SwiftletError", sourceLocation: sourceLocation)
    }
    return nil
}
