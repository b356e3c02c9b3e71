import Foundation

/// The host's view of a test platform's sandboxes, for attacks that aim at another instance:
/// the containers of both OCI runtimes and the host pid of a container's process.
extension TestPlatform {
    /// The OCI runtimes the native provider may drive, with their state directories.
    var ociRuntimes: [(binary: String, root: String)] {
        [("/usr/bin/runc", host.runDirectory + "/runc"), ("/usr/bin/runsc", host.runDirectory + "/runsc")]
    }

    /// The ids of the containers of this platform in every runtime (runc and runsc).
    func allContainers() async throws -> [String] {
        var ids: [String] = []
        for (binary, root) in ociRuntimes where FileManager.default.fileExists(atPath: root) && FileManager.default.isExecutableFile(atPath: binary) {
            let output = try await Self.run(binary, ["--root", root, "list", "--quiet"])
            ids += output.split(whereSeparator: \.isNewline).map(String.init).filter { !$0.isEmpty }
        }
        return ids
    }

    /// The host pid of the process of container `id` (`runc state` / `runsc state`), or nil.
    func hostPID(ofContainer id: String) async throws -> Int? {
        for (binary, root) in ociRuntimes where FileManager.default.fileExists(atPath: root) && FileManager.default.isExecutableFile(atPath: binary) {
            let output = try await Self.run(binary, ["--root", root, "state", id])
            if let object = try? JSONSerialization.jsonObject(with: Data(output.utf8)) as? [String: Any], let pid = object["pid"] as? Int, pid > 0 {
                return pid
            }
        }
        return nil
    }

    /// The running container of `function` (one instance expected), or nil.
    func container(of function: String) async throws -> String? {
        try await allContainers().first { $0.hasPrefix(function + "-") }
    }

    /// Runs `binary` off the cooperative pool and answers its stdout ("" when it fails).
    private static func run(_ binary: String, _ arguments: [String]) async throws -> String {
        try await withCheckedThrowingContinuation { continuation in
            DispatchQueue.global().async {
                let process = Process()
                process.executableURL = URL(fileURLWithPath: binary)
                process.arguments = arguments
                let stdout = Pipe()
                process.standardOutput = stdout
                process.standardError = FileHandle.nullDevice
                do {
                    try process.run()
                    let data = stdout.fileHandleForReading.readDataToEndOfFile()
                    process.waitUntilExit()
                    continuation.resume(returning: process.terminationStatus == 0 ? String(decoding: data, as: UTF8.self) : "")
                } catch {
                    continuation.resume(throwing: error)
                }
            }
        }
    }
}

extension Optional {
    /// `flatMap` with an async transform.
    func asyncFlatMap<U>(_ transform: (Wrapped) async throws -> U?) async rethrows -> U? {
        guard let self else { return nil }
        return try await transform(self)
    }
}
