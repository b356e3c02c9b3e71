import Foundation
import SwiftletCore

/// Drives an OCI runtime binary (`runc`, or gVisor's `runsc`) with a private state directory.
///
/// Every container Swiftlet starts lives under `stateRoot`, so after a crash of the platform
/// ``list()`` finds exactly Swiftlet's containers and nothing else on the host.
public struct RuncDriver: Sendable {
    /// The runtime binary.
    public var runtimePath: String
    /// The runtime's state directory (`--root`).
    public var stateRoot: String
    /// Global flags passed before every command (runsc's `--network=host`).
    public var globalArguments: [String]
    /// The package that provides the binary, for error messages.
    public var package: String

    /// Creates a driver.
    public init(
        runtimePath: String = "/usr/bin/runc", stateRoot: String = "/run/swiftlet/runc", globalArguments: [String] = [], package: String = "runc"
    ) {
        self.runtimePath = runtimePath
        self.stateRoot = stateRoot
        self.globalArguments = globalArguments
        self.package = package
    }

    /// A driver for gVisor's `runsc`: host-network mode, so the sandbox serves on the loopback
    /// of the network namespace it joins (created beforehand, holding only `lo`).
    public static func runsc(runtimePath: String = "/usr/bin/runsc", stateRoot: String) -> RuncDriver {
        RuncDriver(runtimePath: runtimePath, stateRoot: stateRoot, globalArguments: ["--network=host"], package: "runsc")
    }

    private var base: [String] { ["--root", stateRoot] + globalArguments }

    /// Checks that the runtime binary exists and runs.
    public func checkAvailable() async throws {
        guard FileManager.default.isExecutableFile(atPath: runtimePath) else {
            throw SwiftletError(.internal, "the OCI runtime \(runtimePath) is missing; install it with `apt-get install \(package)`")
        }
        let output = try await CommandRunner.run(runtimePath, ["--version"])
        guard output.status == 0 else {
            throw SwiftletError(.internal, "\(runtimePath) --version failed: \(output.stderrText)")
        }
    }

    /// Creates the container `id` from `bundle`; its process inherits `stdout` and `stderr` and
    /// waits for ``start(id:)``; `stdin` (default /dev/null) becomes its fd 0. Runtime errors are
    /// read from `bundle/runtime.log`. With `start`, the process starts at once (`runc run --detach`).
    public func create(
        id: String, bundle: String, pidFile: String, start: Bool = false, stdin: FileHandle? = nil, stdout: FileHandle, stderr: FileHandle
    ) async throws {
        let log = bundle + "/runtime.log"
        let command = start ? ["run", "--detach"] : ["create"]
        let status = try await CommandRunner.spawn(
            runtimePath,
            base + ["--log", log, "--log-format", "json"] + command + ["--bundle", bundle, "--pid-file", pidFile, id],
            stdin: stdin?.fileDescriptor, stdout: stdout.fileDescriptor, stderr: stderr.fileDescriptor
        )
        guard status == 0 else {
            throw SwiftletError(.internal, "\(runtimePath) create \(id) failed: \(Self.lastError(logFile: log))")
        }
    }

    /// Starts the process of a created container.
    public func start(id: String) async throws {
        try await simple(["start", id], what: "start \(id)")
    }

    /// Kills and removes the container `id` (and its cgroups). Missing containers are not an error.
    public func delete(id: String) async throws {
        let output = try await CommandRunner.run(runtimePath, base + ["delete", "--force", id])
        if output.status != 0, !output.stderrText.contains("does not exist"), !output.stderrText.contains("not exist") {
            throw SwiftletError(.internal, "\(runtimePath) delete \(id) failed: \(output.stderrText)")
        }
    }

    /// Sends `signal` (like `TERM`) to the container's process.
    public func kill(id: String, signal: String) async throws {
        try await simple(["kill", id, signal], what: "kill \(id)")
    }

    /// The ids of every container in the state directory.
    public func list() async throws -> [String] {
        guard FileManager.default.fileExists(atPath: stateRoot) else { return [] }
        let output = try await CommandRunner.run(runtimePath, base + ["list", "--quiet"])
        guard output.status == 0 else {
            throw SwiftletError(.internal, "\(runtimePath) list failed: \(output.stderrText)")
        }
        return String(decoding: output.stdout, as: UTF8.self).split(whereSeparator: \.isNewline).map(String.init)
    }

    /// The state of container `id` as the runtime reports it (`state`).
    public struct State: Decodable, Sendable {
        /// The host pid of its first process (runsc: its sandbox process).
        public var pid: Int32
        /// `created`, `running` or `stopped`.
        public var status: String
    }

    /// The runtime's state of the container `id`.
    public func state(id: String) async throws -> State {
        let output = try await CommandRunner.run(runtimePath, base + ["state", id])
        guard output.status == 0 else {
            throw SwiftletError(.notFound, "\(runtimePath) state \(id) failed: \(output.stderrText)")
        }
        do {
            return try JSONDecoder().decode(State.self, from: output.stdout)
        } catch {
            throw SwiftletError(.internal, "\(runtimePath) state \(id) printed no state: \(error)", cause: error)
        }
    }

    private func simple(_ arguments: [String], what: String) async throws {
        let output = try await CommandRunner.run(runtimePath, base + arguments)
        guard output.status == 0 else {
            throw SwiftletError(.internal, "\(runtimePath) \(what) failed: \(output.stderrText)")
        }
    }

    /// The last error message in a runtime's JSON log, or a hint when there is none.
    static func lastError(logFile: String) -> String {
        guard let text = try? String(contentsOfFile: logFile, encoding: .utf8) else { return "no log written" }
        for line in text.split(whereSeparator: \.isNewline).reversed() {
            if let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                object["level"] as? String == "error", let message = object["msg"] as? String
            {
                return message
            }
        }
        return text.split(whereSeparator: \.isNewline).last.map(String.init) ?? "no log written"
    }
}
