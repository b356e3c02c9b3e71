import SwiftletCore

extension NativeProvider {
    /// The command that starts `runtime`'s runner with its debugger listening inside the sandbox:
    /// node's inspector on 127.0.0.1:9229; python's runner starts debugpy itself
    /// (``debugEnvironment(_:)``).
    static func debugRunnerCommand(_ runtime: Runtime) -> [String] {
        let debugger = DebugMode.debugger(for: runtime)
        switch runtime {
        case .node: return ["/usr/bin/node", "--inspect=127.0.0.1:\(debugger.port)", "/opt/swiftlet/runner/node/runner.js"]
        case .python3:
            // Frozen stdlib modules make debugpy miss breakpoints in them (and warn at every start).
            var command = runnerCommand(runtime)
            command.insert(contentsOf: ["-X", "frozen_modules=off"], at: 1)
            return command
        }
    }

    /// Environment telling a runner to start its debugger: `SWIFTLET_DEBUGPY_PORT` for python
    /// (debugpy listens there when it is importable; the runner logs when it is not).
    static func debugEnvironment(_ runtime: Runtime) -> [String: String] {
        switch runtime {
        case .python3: ["SWIFTLET_DEBUGPY_PORT": String(DebugMode.debugger(for: runtime).port)]
        case .node: [:]
        }
    }
}
