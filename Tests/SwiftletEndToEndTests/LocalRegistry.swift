import AsyncHTTPClient
import Foundation
import NIOCore

/// Debian's `docker-registry` on 127.0.0.1 for the end-to-end pull test, with a minimal pusher.
final class LocalRegistry: @unchecked Sendable {
    let port: Int
    let directory: String
    private let process: Process

    var host: String { "127.0.0.1:\(port)" }

    private init(port: Int, directory: String, process: Process) {
        self.port = port
        self.directory = directory
        self.process = process
    }

    /// Starts a registry; with `login` it requires basic auth (htpasswd, bcrypt).
    static func start(login: (user: String, password: String)? = nil) async throws -> LocalRegistry {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/docker-registry") else {
            throw TestFailure("docker-registry is missing; scripts/install-deps.sh installs it")
        }
        let directory = TestPlatform.makeTemporaryDirectory()
        let port = try SwiftletBinary.freePort()
        var config = "version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: \(directory)/storage\nhttp:\n  addr: 127.0.0.1:\(port)\n"
        if let login {
            let htpasswd = try await SwiftletBinary.runTool("/usr/bin/htpasswd", ["-Bbn", login.user, login.password])
            guard htpasswd.status == 0 else { throw TestFailure("htpasswd failed: \(htpasswd.stderr)") }
            try htpasswd.stdout.write(toFile: directory + "/htpasswd", atomically: false, encoding: .utf8)
            config += "auth:\n  htpasswd:\n    realm: swiftlet-test\n    path: \(directory)/htpasswd\n"
        }
        try config.write(toFile: directory + "/config.yml", atomically: false, encoding: .utf8)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/docker-registry")
        process.arguments = ["serve", directory + "/config.yml"]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        let registry = LocalRegistry(port: port, directory: directory, process: process)
        let ready = try await eventually(timeout: .seconds(10)) {
            let status = try? await HTTPClient.shared.get(url: "http://\(registry.host)/v2/").get().status.code
            return status == 200 || (login != nil && status == 401)
        }
        guard ready else {
            await registry.stop()
            throw TestFailure("docker-registry did not start on \(registry.host)")
        }
        return registry
    }

    func stop() async {
        if process.isRunning { kill(process.processIdentifier, SIGTERM) }
        await SwiftletBinary.waitForExit(process)
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// Pushes a blob with a monolithic upload.
    func pushBlob(_ data: Data, digest: String, repository: String) async throws {
        var start = HTTPClientRequest(url: "http://\(host)/v2/\(repository)/blobs/uploads/")
        start.method = .POST
        let started = try await HTTPClient.shared.execute(start, timeout: .seconds(30))
        guard started.status.code == 202, let location = started.headers.first(name: "Location") else {
            throw TestFailure("blob upload start answered \(started.status)")
        }
        let url = (location.hasPrefix("http") ? location : "http://\(host)\(location)") + (location.contains("?") ? "&" : "?") + "digest=\(digest)"
        var put = HTTPClientRequest(url: url)
        put.method = .PUT
        put.headers.add(name: "Content-Type", value: "application/octet-stream")
        put.body = .bytes(ByteBuffer(data: data))
        let done = try await HTTPClient.shared.execute(put, timeout: .seconds(30))
        guard done.status.code == 201 else { throw TestFailure("blob upload answered \(done.status)") }
    }

    /// Pushes the image of an OCI layout directory (`index.json` with one manifest) as `repository:tag`.
    func pushLayout(_ layout: String, repository: String, tag: String) async throws {
        let index = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: layout + "/index.json"))) as? [String: Any]
        guard let manifestDigest = ((index?["manifests"] as? [[String: Any]])?.first?["digest"]) as? String else {
            throw TestFailure("the layout has no manifest")
        }
        let blobs = layout + "/blobs/sha256/"
        let manifest = try Data(contentsOf: URL(fileURLWithPath: blobs + manifestDigest.dropFirst(7)))
        let object = try JSONSerialization.jsonObject(with: manifest) as? [String: Any]
        let config = object?["config"] as? [String: Any]
        let layers = object?["layers"] as? [[String: Any]] ?? []
        for descriptor in [config].compactMap({ $0 }) + layers {
            let digest = descriptor["digest"] as? String ?? ""
            try await pushBlob(try Data(contentsOf: URL(fileURLWithPath: blobs + digest.dropFirst(7))), digest: digest, repository: repository)
        }
        var put = HTTPClientRequest(url: "http://\(host)/v2/\(repository)/manifests/\(tag)")
        put.method = .PUT
        put.headers.add(name: "Content-Type", value: "application/vnd.oci.image.manifest.v1+json")
        put.body = .bytes(ByteBuffer(data: manifest))
        let done = try await HTTPClient.shared.execute(put, timeout: .seconds(30))
        guard done.status.code == 201 else { throw TestFailure("manifest upload answered \(done.status)") }
    }
}
