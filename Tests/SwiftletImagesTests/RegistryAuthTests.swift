import Foundation
import SwiftletCore
import Testing

@testable import SwiftletImages

/// Basic auth (htpasswd) and the Bearer token flow (`auth: token` with a token server), both
/// with the real docker-registry.
@Suite("Registry authentication")
struct RegistryAuthTests {
    static func client(_ credentials: RegistryCredentials?) -> RegistryClient {
        RegistryPullTests.client(.init(insecure: true, credentials: credentials))
    }

    @Test func basicAuth() async throws {
        try await withRegistry(auth: .htpasswd(user: "swiftlet", password: "s3cret")) { server in
            let image = try RegistryTestImage.make()
            let login = RegistryCredentials(username: "swiftlet", password: "s3cret")
            try await RegistryPusher(host: server.host, authorization: login.basicAuthorization).push(image, to: "demo/private", tag: "1")
            let reference = "\(server.host)/demo/private:1"
            let layout = RegistryPullTests.layout(server)

            let anonymous = await registryPullError(Self.client(nil), reference, layout)
            #expect(anonymous?.code == .unauthorized)
            #expect(
                anonymous?.message.contains(
                    "registry \(server.host) requires authentication to pull \(server.host)/demo/private (HTTP 401)") == true)

            let wrong = await registryPullError(Self.client(RegistryCredentials(username: "swiftlet", password: "nope")), reference, layout)
            #expect(wrong?.code == .unauthorized)
            #expect(wrong?.message.contains("rejected the credentials of user 'swiftlet'") == true)
            #expect(wrong?.message.contains("nope") == false)

            let result = try await Self.client(login).pull(reference: reference, into: layout)
            #expect(result.manifestDigest == image.manifestDigest)
            #expect(RegistryPullTests.contents(layout.blob(RegistryTestImage.hex(image.layerDescriptors[1].digest))) == image.layers[1])
        }
    }

    /// Pushes `image` into a plain registry on a shared storage, then serves that storage with
    /// `auth: token` backed by a token server started with `user`/`password`/`field`.
    static func withTokenRegistry(
        image: RegistryTestImage, user: String = "", password: String = "", field: String,
        _ body: (RegistryServer, RegistryTokenServer) async throws -> Void
    ) async throws {
        try await withRegistryDirectory { directory in
            let plain = try await RegistryServer(directory: directory)
            do {
                try await RegistryPusher(host: plain.host).push(image, to: "demo/hello", tag: "1.0")
            } catch {
                await plain.stop()
                throw error
            }
            await plain.stop()
            let tokens = try await RegistryTokenServer(directory: directory, user: user, password: password, field: field)
            do {
                let server = try await RegistryServer(directory: directory, storage: plain.storage, auth: .token(tokens))
                do {
                    try await body(server, tokens)
                } catch {
                    await server.stop()
                    throw error
                }
                await server.stop()
            } catch {
                await tokens.stop()
                throw error
            }
            await tokens.stop()
        }
    }

    @Test func anonymousBearerToken() async throws {
        let image = try RegistryTestImage.make()
        try await Self.withTokenRegistry(image: image, field: "access_token") { server, tokens in
            let layout = RegistryPullTests.layout(server)
            let result = try await Self.client(nil).pull(reference: "\(server.host)/demo/hello:1.0", into: layout)
            #expect(result.manifestDigest == image.manifestDigest)
            #expect(RegistryPullTests.contents(layout.blob(RegistryTestImage.hex(image.layerDescriptors[1].digest))) == image.layers[1])
            // One token for the whole pull, asked for with the challenge's service and scope.
            #expect(tokens.requests.count == 1)
            #expect(tokens.requests.first?.contains("service=\(RegistryTokenServer.service)") == true)
            #expect(tokens.requests.first?.contains("scope=repository:demo/hello:pull") == true)
        }
    }

    @Test func bearerTokenWithCredentials() async throws {
        let image = try RegistryTestImage.make()
        try await Self.withTokenRegistry(image: image, user: "alice", password: "pa55", field: "token") { server, tokens in
            let reference = "\(server.host)/demo/hello:1.0"
            let layout = RegistryPullTests.layout(server)

            let anonymous = await registryPullError(Self.client(nil), reference, layout)
            #expect(anonymous?.code == .unauthorized)
            #expect(anonymous?.message.contains("answered 401; the image may be private: pass credentials") == true)

            let wrong = await registryPullError(Self.client(RegistryCredentials(username: "alice", password: "bad")), reference, layout)
            #expect(wrong?.code == .unauthorized)
            #expect(wrong?.message.contains("check the user name and password") == true)

            let result = try await Self.client(RegistryCredentials(username: "alice", password: "pa55")).pull(
                reference: reference, into: layout)
            #expect(result.config == image.config)
            #expect(tokens.requests.count == 3)
        }
    }
}
