import Foundation
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// A failure in the registry tests' set-up.
struct RegistryFixtureError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// Debian's `docker-registry` (distribution 2.8) on 127.0.0.1, a free port and a temporary directory.
final class RegistryServer: @unchecked Sendable {
    /// How the registry authenticates pulls.
    enum Auth {
        case none
        case htpasswd(user: String, password: String)
        case token(RegistryTokenServer)
    }

    static let binary = "/usr/bin/docker-registry"

    /// `127.0.0.1:PORT`.
    let host: String
    let directory: URL
    let storage: URL
    private let process: Process
    private let logFile: URL

    /// Starts a registry on `storage` (its own, under `directory`, when nil) and waits until it answers.
    init(directory: URL, storage: URL? = nil, auth: Auth = .none) async throws {
        try RegistryTools.ensureRegistryInstalled()
        self.directory = directory
        self.storage = storage ?? directory.appendingPathComponent("storage")
        try FileManager.default.createDirectory(at: self.storage, withIntermediateDirectories: true)
        let port = try RegistryTools.freePort()
        host = "127.0.0.1:\(port)"
        var config = """
            version: 0.1
            log:
              level: info
              accesslog:
                disabled: true
            storage:
              filesystem:
                rootdirectory: \(self.storage.path)
            http:
              addr: \(host)

            """
        switch auth {
        case .none:
            break
        case .htpasswd(let user, let password):
            let htpasswd = directory.appendingPathComponent("htpasswd-\(port)")
            try (RegistryTools.htpasswdLine(user: user, password: password) + "\n").write(to: htpasswd, atomically: false, encoding: .utf8)
            config += "auth:\n  htpasswd:\n    realm: swiftlet-test\n    path: \(htpasswd.path)\n"
        case .token(let server):
            config += """
                auth:
                  token:
                    realm: http://\(server.host)/token
                    service: \(RegistryTokenServer.service)
                    issuer: \(RegistryTokenServer.issuer)
                    rootcertbundle: \(server.certificate.path)

                """
        }
        let configFile = directory.appendingPathComponent("registry-\(port).yml")
        try config.write(to: configFile, atomically: false, encoding: .utf8)
        logFile = directory.appendingPathComponent("registry-\(port).log")
        process = try RegistryTools.launch(Self.binary, ["serve", configFile.path], log: logFile)
        try await waitUntilReady(port: port)
    }

    /// Stops the registry (SIGTERM, then SIGKILL after 5 s).
    func stop() async {
        await RegistryTools.stop(process)
    }

    /// The registry's log so far.
    var log: String { (try? String(contentsOf: logFile, encoding: .utf8)) ?? "" }

    /// Status and body bytes of each completed request whose URI contains `uri`, oldest first.
    func responses(uriContaining uri: String, method: String = "GET") -> [(status: Int, written: Int)] {
        log.split(separator: "\n").compactMap { line in
            guard line.contains("msg=\"response completed\""), line.contains("http.request.method=\(method) "),
                line.contains(uri),
                let status = Self.field("http.response.status", in: line), let written = Self.field("http.response.written", in: line)
            else { return nil }
            return (status, written)
        }
    }

    private static func field(_ name: String, in line: Substring) -> Int? {
        guard let range = line.range(of: name + "=") else { return nil }
        return Int(line[range.upperBound...].prefix { $0.isNumber })
    }

    private func waitUntilReady(port: Int) async throws {
        for _ in 0..<100 {
            guard process.isRunning else { throw RegistryFixtureError("docker-registry exited at start:\n\(log)") }
            // A TCP connect, not an HTTP probe: URLSession on Linux can hang on a 401 challenge.
            if RegistryTools.canConnect(port: port) { return }
            try await Task.sleep(for: .milliseconds(100))
        }
        await stop()
        throw RegistryFixtureError("docker-registry did not answer on \(host) within 10 s:\n\(log)")
    }
}

/// A loopback HTTP server written in Python (stdlib only) that reports its port in a file
/// and prints each request path.
final class RegistryPythonServer: @unchecked Sendable {
    let host: String
    private let process: Process
    private let logFile: URL

    /// Writes `script` as `NAME.py` in `directory` and runs it with `arguments` + the port file.
    init(name: String, script: String, arguments: [String], directory: URL) async throws {
        let scriptFile = directory.appendingPathComponent("\(name).py")
        try script.write(to: scriptFile, atomically: false, encoding: .utf8)
        let portFile = directory.appendingPathComponent("\(name).port")
        logFile = directory.appendingPathComponent("\(name).log")
        process = try RegistryTools.launch(RegistryTools.python, [scriptFile.path] + arguments + [portFile.path], log: logFile)
        var port: String?
        for _ in 0..<100 where port == nil {
            port = try? String(contentsOf: portFile, encoding: .utf8)
            if port == nil { try await Task.sleep(for: .milliseconds(100)) }
        }
        guard let port else {
            await RegistryTools.stop(process)
            throw RegistryFixtureError("\(name).py did not start: \((try? String(contentsOf: logFile, encoding: .utf8)) ?? "")")
        }
        host = "127.0.0.1:" + port
    }

    /// The request paths the server answered, oldest first.
    var requests: [String] {
        ((try? String(contentsOf: logFile, encoding: .utf8)) ?? "").split(separator: "\n").map(String.init).filter { $0.hasPrefix("/") }
    }

    func stop() async {
        await RegistryTools.stop(process)
    }
}

/// A token server for the registry's `auth: token`: RS256 JWTs signed with a fresh self-signed key.
final class RegistryTokenServer: @unchecked Sendable {
    static let service = "swiftlet-test"
    static let issuer = "swiftlet-test-issuer"

    let certificate: URL
    private let server: RegistryPythonServer
    var host: String { server.host }
    /// The token request paths, with their query.
    var requests: [String] { server.requests }

    /// Starts the server; with a `user` it answers 401 unless the request has that Basic login.
    /// The token is sent in the JSON field `field` (`token` or `access_token`).
    init(directory: URL, user: String = "", password: String = "", field: String = "token") async throws {
        let key = directory.appendingPathComponent("token.key")
        certificate = directory.appendingPathComponent("token.crt")
        try RegistryTools.run(
            "/usr/bin/openssl",
            [
                "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key.path, "-out", certificate.path, "-days", "2", "-subj",
                "/CN=swiftlet-test-token",
            ]
        )
        server = try await RegistryPythonServer(
            name: "token_server", script: RegistryFixtureScripts.tokenServer,
            arguments: [key.path, certificate.path, Self.issuer, user, password, field], directory: directory
        )
    }

    func stop() async {
        await server.stop()
    }
}

/// A temporary directory removed after `body`, also when it throws.
func withRegistryDirectory<T>(_ body: (URL) async throws -> T) async throws -> T {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("swiftlet-registry-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: directory) }
    return try await body(directory)
}

/// A registry with its own directory, stopped and removed after `body`, also when it throws.
func withRegistry<T>(auth: RegistryServer.Auth = .none, _ body: (RegistryServer) async throws -> T) async throws -> T {
    try await withRegistryDirectory { directory in
        let server = try await RegistryServer(directory: directory, auth: auth)
        do {
            let result = try await body(server)
            await server.stop()
            return result
        } catch {
            await server.stop()
            throw error
        }
    }
}
