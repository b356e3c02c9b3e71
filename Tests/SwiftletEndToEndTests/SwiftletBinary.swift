import Foundation
import Testing

/// The `swiftlet` executable built next to the tests, run as a child process.
enum SwiftletBinary {
    /// `$SWIFTLET_BIN`, else `swiftlet` in the build folder holding the test bundle.
    static var path: String {
        get throws {
            if let path = ProcessInfo.processInfo.environment["SWIFTLET_BIN"] { return path }
            var directory = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
            for _ in 0..<4 {
                let candidate = directory.appendingPathComponent("swiftlet").path
                if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
                directory.deleteLastPathComponent()
            }
            let fallback = FileManager.default.currentDirectoryPath + "/.build/debug/swiftlet"
            guard FileManager.default.isExecutableFile(atPath: fallback) else {
                throw TestFailure("the swiftlet binary was not found; build it first with `swift build` or set SWIFTLET_BIN")
            }
            return fallback
        }
    }

    /// The outcome of a finished command.
    struct Result {
        var status: Int32
        var stdout: String
        var stderr: String
    }

    /// Runs `swiftlet ARGS` to completion with `environment` added, on a thread of its own so
    /// the blocking waits never hold one of Swift concurrency's few threads.
    static func run(_ arguments: [String], environment: [String: String] = [:], stdin: String? = nil) async throws -> Result {
        let executable = try path
        return try await offload { try runBlocking(executable, arguments, environment: environment, stdin: stdin.map { Data($0.utf8) }) }
    }

    /// Runs another tool (`docker`) the same way.
    static func runTool(_ executable: String, _ arguments: [String], environment: [String: String] = [:], stdin: Data? = nil) async throws -> Result {
        try await offload { try runBlocking(executable, arguments, environment: environment, stdin: stdin) }
    }

    /// Waits for `process` to exit without blocking a concurrency thread.
    static func waitForExit(_ process: Process) async {
        _ = try? await offload { process.waitUntilExit() }
    }

    /// Runs blocking `work` on a dispatch thread.
    static func offload<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            DispatchQueue.global().async {
                continuation.resume(with: Swift.Result { try work() })
            }
        }
    }

    private static func runBlocking(_ executable: String, _ arguments: [String], environment: [String: String], stdin: Data?) throws -> Result {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        var env = ProcessInfo.processInfo.environment
        for key in ["SWIFTLET_URL", "OPENFAAS_URL", "SWIFTLET_USER", "SWIFTLET_PASSWORD", "SWIFTLET_DATA_DIR"] { env.removeValue(forKey: key) }
        for (key, value) in environment { env[key] = value }
        process.environment = env
        let out = Pipe()
        let err = Pipe()
        let input = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = input
        try process.run()
        if let stdin { input.fileHandleForWriting.write(stdin) }
        try input.fileHandleForWriting.close()
        let outData = out.fileHandleForReading.readDataToEndOfFile()
        let errData = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Result(status: process.terminationStatus, stdout: String(decoding: outData, as: UTF8.self), stderr: String(decoding: errData, as: UTF8.self))
    }

    /// Starts `swiftlet up` on a free port in `dataDirectory`; returns the process and its port.
    static func startUp(dataDirectory: String, extra: [String] = [], environment: [String: String] = [:]) throws -> (Process, Int, URL) {
        let port = try freePort()
        let log = URL(fileURLWithPath: dataDirectory + "/up-\(UUID().uuidString.prefix(4)).log")
        _ = FileManager.default.createFile(atPath: log.path, contents: nil)
        let handle = try FileHandle(forWritingTo: log)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try path)
        // A free metrics port unless the test chooses, so that several platforms can run at once.
        let metrics = extra.contains { $0.contains("metrics-port") } ? [] : ["--metrics-port", "0"]
        process.arguments = ["up", "--data-dir", dataDirectory, "--port", String(port)] + metrics + extra
        process.standardOutput = handle
        process.standardError = handle
        if !environment.isEmpty {
            process.environment = ProcessInfo.processInfo.environment.merging(environment) { _, added in added }
        }
        try process.run()
        return (process, port, log)
    }

    /// A port nothing listens on right now.
    static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer -> Bool in
                bind(fd, pointer, length) == 0 && getsockname(fd, pointer, &length) == 0
            }
        }
        guard bound else { throw TestFailure("cannot find a free port") }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}

/// A failure in test set-up.
struct TestFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
