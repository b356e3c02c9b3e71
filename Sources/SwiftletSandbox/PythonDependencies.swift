import Crypto
import Foundation
import SwiftletCore

/// Installs a python3 function's `requirements.txt` with pip into a directory keyed by the hash
/// of the requirements and the interpreter, shared by every function with the same requirements
/// and bound read-only into their sandboxes.
///
/// pip runs on the host (it needs PyPI), so it is fenced in: only wheels are accepted
/// (`--only-binary=:all:`, so no package code runs at install time), requirement lines are plain
/// specifiers (no options, URLs or paths that would make pip read host files or other indexes),
/// and pip itself runs as `nobody` with a private HOME, bounded in time.
public struct PythonDependencies: Sendable {
    /// Where layers live (`DATA/deps`).
    public let directory: String
    /// The interpreter the sandboxes run.
    public let python: String
    /// How long one install may take.
    public let timeout: Duration

    /// Creates the builder for layers under `dataDirectory/deps`.
    public init(dataDirectory: String, python: String = "/usr/bin/python3", timeout: Duration = .seconds(600)) {
        directory = dataDirectory + "/deps"
        self.python = python
        self.timeout = timeout
    }

    /// The requirement lines of `text`, checked: comments and blank lines dropped; options,
    /// URLs, direct references and paths refused with a message that names the line.
    public static func check(_ text: String) throws(SwiftletError) -> [String] {
        guard text.utf8.count <= 64 * 1024 else {
            throw SwiftletError(.tooLarge, "requirements.txt is larger than 64 KiB")
        }
        var lines: [String] = []
        for raw in text.split(whereSeparator: \.isNewline) {
            let line = raw.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false).first.map(String.init)?
                .trimmingCharacters(in: .whitespaces) ?? ""
            if line.isEmpty { continue }
            let allowed = line.unicodeScalars.allSatisfy {
                CharacterSet.alphanumerics.contains($0) || "-_.[],<>=!~*; ()'\"".unicodeScalars.contains($0)
            }
            guard allowed, !line.hasPrefix("-"), !line.hasPrefix("."), line.unicodeScalars.first.map(CharacterSet.alphanumerics.contains) == true else {
                throw SwiftletError(
                    .invalidInput,
                    "requirements.txt line '\(line.prefix(80))' is not a plain requirement; use lines like `pyyaml==6.0.1` (no options, URLs or paths)"
                )
            }
            lines.append(line)
        }
        return lines
    }

    /// The layer path for `requirements` (which need not exist yet).
    public func path(for requirements: String) throws(SwiftletError) -> String {
        let lines = try Self.check(requirements)
        let key = SHA256.hash(data: Data((python + "\n" + lines.joined(separator: "\n")).utf8)).map { String(format: "%02x", $0) }.joined()
        return directory + "/" + key
    }

    /// Installs `requirements` (unless already installed) and returns the layer path. A failed
    /// install throws `.invalidInput` with pip's error and leaves nothing behind.
    public func install(_ requirements: String) async throws -> String {
        let lines = try Self.check(requirements)
        let target = try path(for: requirements)
        let fm = FileManager.default
        if fm.fileExists(atPath: target) { return target }
        let staging = target + ".staging-\(UInt32.random(in: 0...UInt32.max))"
        defer { try? fm.removeItem(atPath: staging) }
        do {
            try fm.createDirectory(atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o755])
            for dir in [staging, staging + "/home", staging + "/site"] {
                try fm.createDirectory(atPath: dir, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o755])
                try fm.setAttributes([.ownerAccountID: 65534, .groupOwnerAccountID: 65534], ofItemAtPath: dir)
            }
            try Data((lines.joined(separator: "\n") + "\n").utf8).write(to: URL(fileURLWithPath: staging + "/requirements.txt"))
            try fm.setAttributes([.posixPermissions: 0o644], ofItemAtPath: staging + "/requirements.txt")
        } catch {
            throw SwiftletError(.internal, "cannot prepare the dependency layer under \(directory): \(error.localizedDescription)")
        }
        let output = try await CommandRunner.run(
            "/usr/bin/timeout",
            [
                "--kill-after=5", String(timeout.components.seconds), "/usr/bin/setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                "/usr/bin/env", "-i", "HOME=\(staging)/home", "PATH=/usr/bin:/bin", "PIP_NO_INPUT=1", "LANG=C.UTF-8",
                python, "-m", "pip", "install", "--target", staging + "/site", "--only-binary=:all:", "--no-cache-dir",
                "--disable-pip-version-check", "--no-input", "--quiet", "--no-warn-script-location", "-r", staging + "/requirements.txt",
            ]
        )
        guard output.status == 0 else {
            let lines = output.stderrText.split(whereSeparator: \.isNewline).filter { !$0.hasPrefix("WARNING") }.suffix(6)
            let reason = output.status == 124 ? "pip took longer than \(timeout)" : lines.joined(separator: " | ")
            throw SwiftletError(.invalidInput, "installing requirements.txt failed: \(reason.prefix(2000))")
        }
        do {
            // The layer belongs to root and is readable by every function uid.
            try CommandRunner.runSync("/bin/chown", ["-R", "0:0", staging + "/site"])
            try CommandRunner.runSync("/bin/chmod", ["-R", "a+rX,go-w", staging + "/site"])
            try fm.moveItem(atPath: staging + "/site", toPath: target)
        } catch {
            if fm.fileExists(atPath: target) { return target }  // a concurrent install won
            throw SwiftletError(.internal, "cannot finish the dependency layer \(target): \(error.localizedDescription)")
        }
        return target
    }
}
