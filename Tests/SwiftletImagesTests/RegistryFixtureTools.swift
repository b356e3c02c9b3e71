import Foundation

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif
#if canImport(Glibc)
    import Glibc
#endif

/// Processes, ports and packages for the registry tests.
enum RegistryTools {
    /// Debian's python3 when present (CI's), else the one on PATH.
    static var python: String {
        FileManager.default.isExecutableFile(atPath: "/usr/bin/python3") ? "/usr/bin/python3" : "/usr/bin/env"
    }

    private static let installation: Result<Void, RegistryFixtureError> = {
        if FileManager.default.isExecutableFile(atPath: RegistryServer.binary) { return .success(()) }
        // Refresh the package lists only when apt does not know the package yet.
        let policy = (try? output("/usr/bin/apt-cache", ["policy", "docker-registry"])) ?? ""
        if !policy.contains("Candidate:") || policy.contains("Candidate: (none)") {
            _ = try? output("/usr/bin/apt-get", ["update", "-qq"])
        }
        _ = try? output("/usr/bin/apt-get", ["install", "-y", "-qq", "docker-registry"])
        guard FileManager.default.isExecutableFile(atPath: RegistryServer.binary) else {
            return .failure(RegistryFixtureError("docker-registry is missing and `apt-get install -y docker-registry` did not install it"))
        }
        return .success(())
    }()

    /// Installs Debian's docker-registry once if `/usr/bin/docker-registry` is missing.
    static func ensureRegistryInstalled() throws {
        try installation.get()
    }

    /// A bcrypt htpasswd line: `htpasswd -nbB` (apache2-utils) or python3's `crypt`.
    static func htpasswdLine(user: String, password: String) throws -> String {
        if FileManager.default.isExecutableFile(atPath: "/usr/bin/htpasswd") {
            return try output("/usr/bin/htpasswd", ["-nbB", user, password]).trimmingCharacters(in: .whitespacesAndNewlines)
        }
        let script = "import crypt,sys; print(sys.argv[1] + ':' + crypt.crypt(sys.argv[2], crypt.mksalt(crypt.METHOD_BLOWFISH)))"
        let arguments =
            python == "/usr/bin/env"
            ? ["python3", "-W", "ignore", "-c", script, user, password] : ["-W", "ignore", "-c", script, user, password]
        return try output(python, arguments).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// A TCP port nobody listens on right now.
    static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0 }
        }
        guard bound else { throw RegistryFixtureError("cannot find a free port") }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    /// True if something accepts TCP connections on 127.0.0.1:`port`.
    static func canConnect(port: Int) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = UInt16(port).bigEndian
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
        }
    }

    /// A socket listening on 127.0.0.1 that never accepts: connections open, then nothing answers.
    static func silentListener() throws -> (fd: CInt, port: Int) {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0 }
        }
        guard bound, listen(fd, 16) == 0 else {
            close(fd)
            throw RegistryFixtureError("cannot listen on 127.0.0.1")
        }
        return (fd, Int(UInt16(bigEndian: address.sin_port)))
    }

    /// Starts `executable` with stdout and stderr going to `log`.
    static func launch(_ executable: String, _ arguments: [String], log: URL) throws -> Process {
        _ = FileManager.default.createFile(atPath: log.path, contents: nil)
        let handle = try FileHandle(forWritingTo: log)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = executable == "/usr/bin/env" ? ["python3"] + arguments : arguments
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = handle
        process.standardError = handle
        try process.run()
        try handle.close()
        return process
    }

    /// SIGTERM, then SIGKILL if the process is still running after 5 s; waits for the exit.
    static func stop(_ process: Process) async {
        guard process.isRunning else { return }
        process.terminate()
        for _ in 0..<50 where process.isRunning {
            try? await Task.sleep(for: .milliseconds(100))
        }
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            for _ in 0..<50 where process.isRunning {
                try? await Task.sleep(for: .milliseconds(100))
            }
        }
    }

    /// Runs a command to completion; throws with its output if it fails.
    @discardableResult
    static func run(_ executable: String, _ arguments: [String]) throws -> String {
        try output(executable, arguments)
    }

    private static func output(_ executable: String, _ arguments: [String]) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        var environment = ProcessInfo.processInfo.environment
        environment["DEBIAN_FRONTEND"] = "noninteractive"
        process.environment = environment
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        process.standardInput = FileHandle.nullDevice
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        let text = String(decoding: data, as: UTF8.self)
        guard process.terminationStatus == 0 else { throw RegistryFixtureError("\(executable) \(arguments) failed: \(text)") }
        return text
    }
}

/// A plain HTTP client (URLSession) for the tests' pushes and probes, loopback only.
enum RegistryHTTP {
    struct Response {
        var status: Int
        var headers: [String: String]
        var body: Data

        func header(_ name: String) -> String? {
            headers.first { $0.key.caseInsensitiveCompare(name) == .orderedSame }?.value
        }
    }

    private static let session: URLSession = {
        let configuration = URLSessionConfiguration.ephemeral
        configuration.connectionProxyDictionary = [:]
        configuration.timeoutIntervalForRequest = 10
        return URLSession(configuration: configuration)
    }()

    static func send(_ method: String, _ url: String, headers: [String: String] = [:], body: Data? = nil) async throws -> Response {
        guard let parsed = URL(string: url), parsed.host == "127.0.0.1" else { throw RegistryFixtureError("refusing to send to \(url)") }
        var request = URLRequest(url: parsed)
        request.httpMethod = method
        for (name, value) in headers { request.setValue(value, forHTTPHeaderField: name) }
        request.httpBody = body
        let (data, response) = try await session.data(for: request)
        guard let http = response as? HTTPURLResponse else { throw RegistryFixtureError("no HTTP response from \(url)") }
        var fields: [String: String] = [:]
        for (name, value) in http.allHeaderFields {
            if let name = name as? String, let value = value as? String { fields[name] = value }
        }
        return Response(status: http.statusCode, headers: fields, body: data)
    }
}
