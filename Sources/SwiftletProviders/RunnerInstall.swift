import Foundation
import Logging
import SwiftletCore
import SwiftletSandbox

/// The runners as instances see them: a copy of the shipped runners in the run directory, with
/// the python runner compiled once to bytecode, so no instance compiles it again (about 5 ms of
/// every python start). Instances run `runner` through a one-line `-c` stub because Python never
/// loads a main script from bytecode.
package struct RunnerInstall: Sendable {
    /// The copy bound read-only at `/opt/swiftlet/runner` in every sandbox.
    package let directory: String

    /// A copy at `directory`.
    package init(directory: String) {
        self.directory = directory
    }

    /// The command that starts the python3 runner inside a sandbox.
    package static let pythonCommand = [
        "/usr/bin/python3", "-u", "-B", "-c",
        "import sys; sys.path[0] = '/opt/swiftlet/runner/python3'; import runner; sys.exit(runner.main())",
    ]

    /// Copies the runners from `source` into `directory` (replacing an old copy) and compiles the
    /// python runner. A failed compile only costs speed: it is logged and the source is used.
    package func install(from source: String, logger: Logger) async throws {
        let fm = FileManager.default
        try? fm.removeItem(atPath: directory)
        do {
            try fm.copyItem(atPath: source, toPath: directory)
            // Only what instances need, readable by the function's uid.
            try? fm.removeItem(atPath: directory + "/tests")
            try setReadable(directory)
        } catch {
            throw SwiftletError(.internal, "cannot copy the runners from \(source) to \(directory): \(error.localizedDescription)", cause: error)
        }
        let script = "import py_compile, sys; py_compile.compile(sys.argv[1], doraise=True)"
        let output = try? await CommandRunner.run("/usr/bin/python3", ["-c", script, directory + "/python3/runner.py"])
        if output?.status == 0 {
            try? setReadable(directory + "/python3")
        } else {
            logger.warning(
                "cannot compile the python runner; instances compile it at every start",
                metadata: ["error": "\(output?.stderrText ?? "python3 did not run")"]
            )
        }
    }

    private func setReadable(_ path: String) throws {
        let fm = FileManager.default
        guard let enumerator = fm.enumerator(atPath: path) else { return }
        try fm.setAttributes([.posixPermissions: 0o755], ofItemAtPath: path)
        while let item = enumerator.nextObject() as? String {
            let full = path + "/" + item
            var isDirectory: ObjCBool = false
            guard fm.fileExists(atPath: full, isDirectory: &isDirectory) else { continue }
            try fm.setAttributes([.posixPermissions: isDirectory.boolValue ? 0o755 : 0o644], ofItemAtPath: full)
        }
    }
}
