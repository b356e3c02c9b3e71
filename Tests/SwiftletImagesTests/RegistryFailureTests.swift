import Foundation
import SwiftletCore
import Testing

@testable import SwiftletImages

#if canImport(Glibc)
    import Glibc
#endif

/// Pulls that must fail, each with a message that says what to do.
@Suite("Registry pull failures")
struct RegistryFailureTests {
    @Test func zstdLayersAreUnsupported() async throws {
        try await withRegistry { server in
            let image = try RegistryTestImage.make(layerMediaType: RegistryMediaType.ociLayerZstd)
            try await RegistryPusher(host: server.host).push(image, to: "demo/zstd", tag: "1")
            let error = await registryPullError(RegistryPullTests.client(), "\(server.host)/demo/zstd:1", RegistryPullTests.layout(server))
            #expect(error?.code == .unsupported)
            #expect(error?.message.contains("zstd-compressed layer") == true)
            #expect(error?.message.contains("rebuild the image with gzip") == true)
            #expect(server.responses(uriContaining: "/blobs/").isEmpty)
        }
    }

    @Test func layersOverTheLimitAreRefusedBeforeDownloading() async throws {
        try await withRegistry { server in
            let image = try RegistryTestImage.make()
            try await RegistryPusher(host: server.host).push(image, to: "demo/hello", tag: "1.0")
            let client = RegistryPullTests.client(.init(insecure: true, maxLayerSize: 100 * 1024))
            let error = await registryPullError(client, "\(server.host)/demo/hello:1.0", RegistryPullTests.layout(server))
            #expect(error?.code == .tooLarge)
            #expect(error?.message.contains("over the limit of 102400") == true)
            #expect(server.responses(uriContaining: "/blobs/").isEmpty)
        }
    }

    @Test func unreachableRegistry() async throws {
        try await withRegistryDirectory { directory in
            let port = try RegistryTools.freePort()
            let layout = ImageLayout(dataDirectory: directory.path)
            let client = RegistryPullTests.client(.init(insecure: true, connectTimeout: .seconds(1)))
            let error = await registryPullError(client, "127.0.0.1:\(port)/demo/hello:1.0", layout)
            #expect(error?.code == .unavailable)
            #expect(error?.message.contains("cannot reach registry 127.0.0.1:\(port)") == true)
        }
    }

    @Test func httpsToAPlainHTTPRegistrySuggestsInsecure() async throws {
        try await withRegistry { server in
            try await RegistryPusher(host: server.host).push(try RegistryTestImage.make(), to: "demo/hello", tag: "1.0")
            // localhost/127.0.0.1 are not insecure by themselves: the default is https.
            let client = RegistryPullTests.client(.init(connectTimeout: .seconds(1)))
            let error = await registryPullError(client, "\(server.host)/demo/hello:1.0", RegistryPullTests.layout(server))
            #expect(error?.code == .unavailable)
            #expect(error?.message.contains("at https://\(server.host)") == true)
            #expect(error?.message.contains("pass --insecure") == true)
        }
    }

    @Test func silentRegistryTimesOut() async throws {
        try await withRegistryDirectory { directory in
            let (fd, port) = try RegistryTools.silentListener()
            defer { close(fd) }
            let client = RegistryPullTests.client(.init(insecure: true, requestTimeout: .milliseconds(500)))
            let start = ContinuousClock.now
            let error = await registryPullError(client, "127.0.0.1:\(port)/demo/hello:1.0", ImageLayout(dataDirectory: directory.path))
            #expect(error?.code == .timeout)
            #expect(error?.message.contains("did not answer") == true)
            #expect(ContinuousClock.now - start < .seconds(10))
        }
    }
}
