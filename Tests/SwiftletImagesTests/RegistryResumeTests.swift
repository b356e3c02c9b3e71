import Foundation
import SwiftletCore
import Testing

@testable import SwiftletImages

/// `.partial` downloads: resumed with a Range request, restarted when wrong, never trusted unverified.
@Suite("Registry resumable downloads")
struct RegistryResumeTests {
    /// Pushes an image, and leaves `partial` as the `.partial` of its big layer.
    static func prepare(_ server: RegistryServer, partial: (Data) -> Data) async throws -> (RegistryTestImage, ImageLayout, String) {
        let image = try RegistryTestImage.make()
        try await RegistryPusher(host: server.host).push(image, to: "demo/hello", tag: "1.0")
        let layout = RegistryPullTests.layout(server)
        try FileManager.default.createDirectory(atPath: layout.blobs, withIntermediateDirectories: true)
        let hex = RegistryTestImage.hex(image.layerDescriptors[1].digest)
        #expect(FileManager.default.createFile(atPath: layout.partial(hex), contents: partial(image.layers[1])))
        return (image, layout, hex)
    }

    @Test func interruptedPullResumesWithARange() async throws {
        try await withRegistry { server in
            let (image, layout, hex) = try await Self.prepare(server) { Data($0.prefix($0.count / 2)) }
            let big = image.layers[1]
            var events: [RegistryProgress] = []
            let result = try await RegistryPullTests.client().pull(reference: "\(server.host)/demo/hello:1.0", into: layout) {
                events.append($0)
            }
            #expect(result.layers == image.layerDescriptors)
            #expect(RegistryPullTests.contents(layout.blob(hex)) == big)
            #expect(RegistryPullTests.partials(layout).isEmpty)
            // One 206 carrying only the second half: the first half was not transferred again.
            let responses = server.responses(uriContaining: "/blobs/sha256:\(hex)")
            #expect(responses.map(\.status) == [206])
            #expect(responses.first?.written == big.count - big.count / 2)
            let first = events.first { $0.digest == "sha256:" + hex }
            #expect(first?.status == .downloading)
            #expect(first?.completed == Int64(big.count / 2))
        }
    }

    @Test func cancelledPullContinuesWhereItStopped() async throws {
        try await withRegistry { server in
            let image = try RegistryTestImage.make(randomBytes: 8 << 20)
            try await RegistryPusher(host: server.host).push(image, to: "demo/big", tag: "1")
            let layout = RegistryPullTests.layout(server)
            let big = image.layerDescriptors[1]
            let hex = RegistryTestImage.hex(big.digest)
            let reference = "\(server.host)/demo/big:1"
            // The first pull cancels itself once part of the big layer is on disk.
            let interrupted = Task {
                var configuration = RegistryClient.Configuration(insecure: true)
                configuration.progressInterval = .zero
                return try await RegistryPullTests.client(configuration).pull(reference: reference, into: layout) { progress in
                    if progress.digest == big.digest && progress.completed > 0 && progress.completed < big.size {
                        withUnsafeCurrentTask { $0?.cancel() }
                    }
                }
            }
            let outcome = await interrupted.result
            #expect(throws: CancellationError.self) { try outcome.get() }
            let kept = try #require(RegistryPullTests.contents(layout.partial(hex)))
            #expect(kept.count > 0 && kept.count < big.size)
            #expect(!FileManager.default.fileExists(atPath: layout.blob(hex)))

            _ = try await RegistryPullTests.client().pull(reference: reference, into: layout)
            #expect(RegistryPullTests.contents(layout.blob(hex)) == image.layers[1])
            let resumed = server.responses(uriContaining: "/blobs/\(big.digest)").last
            #expect(resumed?.status == 206)
            #expect(resumed?.written == Int(big.size) - kept.count)
        }
    }

    @Test func corruptedPartialIsDetectedAndRestarted() async throws {
        try await withRegistry { server in
            let (image, layout, hex) = try await Self.prepare(server) { Data(repeating: 0x5a, count: $0.count / 3) }
            _ = try await RegistryPullTests.client().pull(reference: "\(server.host)/demo/hello:1.0", into: layout)
            #expect(RegistryPullTests.contents(layout.blob(hex)) == image.layers[1])
            #expect(RegistryPullTests.partials(layout).isEmpty)
            // The resumed download failed the digest check, so the blob was fetched again from zero.
            let responses = server.responses(uriContaining: "/blobs/sha256:\(hex)")
            #expect(responses.map(\.status) == [206, 200])
            #expect(responses.last?.written == image.layers[1].count)
        }
    }

    @Test func completePartialIsVerifiedWithoutDownloading() async throws {
        try await withRegistry { server in
            let (image, layout, hex) = try await Self.prepare(server) { $0 }
            _ = try await RegistryPullTests.client().pull(reference: "\(server.host)/demo/hello:1.0", into: layout)
            #expect(RegistryPullTests.contents(layout.blob(hex)) == image.layers[1])
            #expect(server.responses(uriContaining: "/blobs/sha256:\(hex)").isEmpty)
        }
    }

    @Test func oversizedPartialIsDiscarded() async throws {
        try await withRegistry { server in
            let (image, layout, hex) = try await Self.prepare(server) { $0 + Data([1, 2, 3]) }
            _ = try await RegistryPullTests.client().pull(reference: "\(server.host)/demo/hello:1.0", into: layout)
            #expect(RegistryPullTests.contents(layout.blob(hex)) == image.layers[1])
            #expect(server.responses(uriContaining: "/blobs/sha256:\(hex)").map(\.status) == [200])
        }
    }

    @Test func blobAlteredInTheRegistryFailsTheDigestCheck() async throws {
        try await withRegistry { server in
            let image = try RegistryTestImage.make()
            try await RegistryPusher(host: server.host).push(image, to: "demo/hello", tag: "1.0")
            // Rewrite the layer in the registry's own storage: same size, other bytes.
            let hex = RegistryTestImage.hex(image.layerDescriptors[1].digest)
            let stored = server.storage.appendingPathComponent("docker/registry/v2/blobs/sha256/\(hex.prefix(2))/\(hex)/data")
            try Data(repeating: 7, count: image.layers[1].count).write(to: stored)
            let layout = RegistryPullTests.layout(server)
            let error = await registryPullError(RegistryPullTests.client(), "\(server.host)/demo/hello:1.0", layout)
            #expect(error?.message.contains("digest mismatch for the layer of image \(server.host)/demo/hello:1.0") == true)
            #expect(error?.message.contains("expected sha256:\(hex)") == true)
            #expect(!FileManager.default.fileExists(atPath: layout.blob(hex)))
            #expect(RegistryPullTests.partials(layout).isEmpty)
        }
    }
}
