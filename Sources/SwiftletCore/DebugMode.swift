/// Debug mode: `"debug": true` on a deployment, or the label `com.swiftlet.debug=true`.
///
/// A function in debug mode runs exactly one instance with a 1 h exec timeout; health checks
/// never take it out of service or replace it (a paused process cannot answer them); and the
/// runtime's debugger listens inside the sandbox (node inspector on 9229, python debugpy on
/// 5678), forwarded to a random port on the host's `DEBUG_BIND_ADDRESS`.
public enum DebugMode {
    /// The label that turns debug mode on.
    public static let label = "com.swiftlet.debug"
    /// The exec timeout of every call in debug mode.
    public static let execTimeout: Duration = .seconds(3600)
    /// The prefix of the status annotations naming forwarded debugger ports:
    /// `com.swiftlet.debug.node-inspector: 127.0.0.1:PORT`.
    public static let annotationPrefix = "com.swiftlet.debug."
    /// The host address debugger ports are forwarded to by default.
    public static let defaultBindAddress = "127.0.0.1"

    /// A debugger listening inside an instance's sandbox.
    public struct Debugger: Sendable, Equatable {
        /// Its name in the status annotation (`node-inspector`, `debugpy`).
        public var name: String
        /// The port it listens on at 127.0.0.1 inside the sandbox.
        public var port: UInt16

        /// Creates a debugger.
        public init(name: String, port: UInt16) {
            self.name = name
            self.port = port
        }
    }

    /// The debugger of `runtime`: node's inspector on 9229, python's debugpy on 5678.
    public static func debugger(for runtime: Runtime) -> Debugger {
        switch runtime {
        case .node: Debugger(name: "node-inspector", port: 9229)
        case .python3: Debugger(name: "debugpy", port: 5678)
        }
    }

    /// Whether `deployment` asks for debug mode (its `debug` field or label); throws for a label
    /// value other than true/false.
    public static func isRequested(_ deployment: FunctionDeployment) throws(SwiftletError) -> Bool {
        var fromLabel = false
        if let text = deployment.labels?[label] {
            switch text.lowercased() {
            case "true", "1": fromLabel = true
            case "false", "0", "": fromLabel = false
            default: throw SwiftletError(.invalidInput, "label \(label) is '\(text.prefix(40))'; use true or false")
            }
        }
        return (deployment.debug ?? false) || fromLabel
    }

    /// Whether binding to `address` exposes debugger ports beyond this machine (anything but
    /// loopback); a debugger gives whoever connects code execution inside the function.
    public static func isExposed(_ address: String) -> Bool {
        !(address == "localhost" || address == "::1" || address.hasPrefix("127."))
    }
}
