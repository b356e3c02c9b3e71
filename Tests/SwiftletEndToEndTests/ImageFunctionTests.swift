import Foundation
import NIOCore
import NIOHTTP1
import Testing

extension EndToEnd {
    /// Image functions: import an OCI image made in the test, deploy it, call it.
    @Suite("End to end: image functions")
    struct ImageFunctionTests {
        static func importArchive(_ platform: TestPlatform, _ archive: String, tag: String? = nil) async throws -> TestPlatform.Answer {
            let data = try Data(contentsOf: URL(fileURLWithPath: archive))
            let path = "/system/images/import" + (tag.map { "?tag=" + $0 } ?? "")
            return try await platform.request(.POST, path, body: ByteBuffer(data: data), auth: true)
        }

        static func deployImage(_ platform: TestPlatform, _ name: String, image: String, extra: [String: Any] = [:]) async throws -> TestPlatform.Answer {
            var object: [String: Any] = ["service": name, "image": image]
            for (key, value) in extra { object[key] = value }
            let json = try JSONSerialization.data(withJSONObject: object)
            return try await platform.request(.POST, "/system/functions", body: ByteBuffer(bytes: json), headers: [("Content-Type", "application/json")], auth: true)
        }

        /// Imports the busybox httpd image of ``ImageFixture`` (it answers as uid 1000; its
        /// `/cgi-bin/echo` prints `uid=… greeting=$GREETING`) and deploys it as `name` with `extra`.
        static func deployBusyHTTPD(_ platform: TestPlatform, _ name: String, extra: [String: Any]) async throws {
            let built = try ImageFixture.dockerSave(reference: "localhost/busy-httpd:1.0")
            defer { try? FileManager.default.removeItem(atPath: built.workDirectory) }
            let imported = try await importArchive(platform, built.archive)
            #expect(imported.status == 201, "\(imported.text)")
            let deploy = try await deployImage(platform, name, image: "localhost/busy-httpd:1.0", extra: extra)
            #expect(deploy.status == 202, "\(deploy.text)")
        }

        @Test("a docker-save image imports, deploys and answers as its own user, read-only when asked")
        func dockerSaveImage() async throws {
            let built = try ImageFixture.dockerSave(reference: "localhost/busy-httpd:1.0")
            defer { try? FileManager.default.removeItem(atPath: built.workDirectory) }
            try await TestPlatform.with { platform in
                let imported = try await Self.importArchive(platform, built.archive)
                #expect(imported.status == 201, "\(imported.text)")
                #expect(imported.text.contains("localhost/busy-httpd:1.0"))
                let list = try await platform.request(.GET, "/system/images", auth: true)
                #expect(list.text.contains("localhost/busy-httpd:1.0"))

                let deploy = try await Self.deployImage(platform, "web", image: "localhost/busy-httpd:1.0", extra: ["readOnlyRootFilesystem": true, "envVars": ["GREETING": "hi"]])
                #expect(deploy.status == 202, "\(deploy.text)")
                let index = try await platform.call("web")
                #expect(index.status == 200, "\(index.text)")
                #expect(index.text == "hello from an image\n")
                let echo = try await platform.call("web", path: "/cgi-bin/echo?x=1", method: .POST, body: ByteBuffer(string: "body!"))
                #expect(echo.status == 200, "\(echo.text)")
                #expect(echo.text.contains("method=POST query=x=1 uid=1000 greeting=hi"), "\(echo.text)")
                #expect(echo.text.contains("body!"))
                // busybox httpd closes every connection (HTTP/1.0): concurrent calls must all succeed.
                let statuses = try await withThrowingTaskGroup(of: Int.self) { group in
                    for _ in 0..<160 {
                        group.addTask { try await platform.call("web").status }
                    }
                    return try await group.reduce(into: [Int]()) { $0.append($1) }
                }
                #expect(statuses.filter { $0 != 200 }.isEmpty, "failed calls: \(statuses.filter { $0 != 200 })")
                let status = try await platform.request(.GET, "/system/function/web", auth: true).json()
                #expect(status["image"] as? String == "localhost/busy-httpd:1.0")
                #expect(status["readOnlyRootFilesystem"] as? Bool == true)

                // In use: the image cannot be removed.
                let remove = try await platform.request(
                    .DELETE, "/system/images", body: ByteBuffer(string: #"{"reference":"localhost/busy-httpd:1.0"}"#),
                    headers: [("Content-Type", "application/json")], auth: true
                )
                #expect(remove.status == 409, "\(remove.text)")
                #expect(remove.text.contains("web"))
            }
        }

        @Test("an OCI layout imports; a writable root is the instance's own; root images are refused")
        func ociLayoutImage() async throws {
            let built = try ImageFixture.ociLayout(refName: "localhost/busy-oci:2")
            defer { try? FileManager.default.removeItem(atPath: built.workDirectory) }
            let rootImage = try ImageFixture.dockerSave(reference: "localhost/busy-root:1", user: "")
            defer { try? FileManager.default.removeItem(atPath: rootImage.workDirectory) }
            try await TestPlatform.with { platform in
                #expect(try await Self.importArchive(platform, built.archive).status == 201)
                let deploy = try await Self.deployImage(platform, "oci", image: "localhost/busy-oci:2")
                #expect(deploy.status == 202, "\(deploy.text)")
                #expect(try await platform.call("oci").text == "hello from an image\n")
                #expect(try await platform.containers().contains { $0.hasPrefix("oci-") })

                #expect(try await Self.importArchive(platform, rootImage.archive).status == 201)
                #expect(try await Self.deployImage(platform, "rooted", image: "localhost/busy-root:1").status == 202)
                let refused = try await platform.call("rooted")
                #expect(refused.status == 503)
                #expect(refused.text.contains("runs as root"), "\(refused.text)")
                #expect(try await Self.deployImage(platform, "rooted-ok", image: "localhost/busy-root:1", extra: ["labels": ["com.swiftlet.user": "2000"]]).status == 202)
                let mapped = try await platform.call("rooted-ok", path: "/cgi-bin/echo")
                #expect(mapped.text.contains("uid=2000"), "\(mapped.text)")
            }
        }

        @Test("bad images and references are refused with a clear message")
        func badImages() async throws {
            try await TestPlatform.with { platform in
                let garbage = try await platform.request(.POST, "/system/images/import", body: ByteBuffer(string: "not a tar"), auth: true)
                #expect(garbage.status == 400, "\(garbage.text)")
                let empty = try await platform.request(.POST, "/system/images/import", auth: true)
                #expect(empty.status == 400)
                let badReference = try await Self.deployImage(platform, "bad", image: "UPPER/Case:tag")
                #expect(badReference.status == 400, "\(badReference.text)")
                #expect(try await Self.deployImage(platform, "missing", image: "localhost/not-there:1").status == 202)
                let missing = try await platform.call("missing")
                #expect(missing.status == 503)
                #expect(missing.text.contains("not-there"), "\(missing.text)")
                #expect(try await platform.request(.GET, "/system/images", auth: true).text == "[]")
            }
        }
    }
}

extension EndToEnd {
    /// `swiftlet image pull` through the gateway from a registry on loopback, and pull on deploy.
    @Suite("End to end: registry pulls")
    struct RegistryPullEndToEndTests {
        @Test("swiftlet image pull --insecure fetches an image the function then runs; deploy pulls a missing one")
        func pullAndRun() async throws {
            let built = try ImageFixture.ociLayout(refName: "unused")
            defer { try? FileManager.default.removeItem(atPath: built.workDirectory) }
            let registry = try await LocalRegistry.start()
            do {
                try await registry.pushLayout(built.workDirectory + "/oci", repository: "team/httpd", tag: "1.0")
                try await TestPlatform.with { platform in
                    let env = ["SWIFTLET_URL": platform.baseURL, "SWIFTLET_USER": "admin", "SWIFTLET_PASSWORD": platform.credentials.password]
                    let reference = "\(registry.host)/team/httpd:1.0"
                    let secure = try await SwiftletBinary.run(["image", "pull", reference], environment: env)
                    #expect(secure.status != 0, "https against a plain-HTTP registry must fail")
                    #expect(secure.stderr.contains("pull of"), "\(secure.stderr)")
                    let pull = try await SwiftletBinary.run(["image", "pull", reference, "--insecure"], environment: env)
                    #expect(pull.status == 0, "\(pull.stderr)")
                    #expect(pull.stdout.contains("pulled \(reference)"), "\(pull.stdout)")
                    #expect(pull.stderr.contains("verified"), "progress lines: \(pull.stderr)")
                    let list = try await SwiftletBinary.run(["image", "list"], environment: env)
                    #expect(list.stdout.contains(reference))
                    let deploy = try await SwiftletBinary.run(["deploy", "pulled", "--image", reference], environment: env)
                    #expect(deploy.status == 0, "\(deploy.stderr)")
                    #expect(try await platform.call("pulled").text == "hello from an image\n")
                    // Removing the function frees the image; gc then removes its blobs.
                    #expect(try await SwiftletBinary.run(["remove", "pulled"], environment: env).status == 0)
                    #expect(try await SwiftletBinary.run(["image", "remove", reference], environment: env).status == 0)
                    let gc = try await SwiftletBinary.run(["image", "gc"], environment: env)
                    #expect(gc.stdout.contains("removed sha256:"), "\(gc.stdout)")
                }
            } catch {
                await registry.stop()
                throw error
            }
            await registry.stop()
        }
    }
}
