/// The language runtimes of code functions.
public enum Runtime: String, Sendable, CaseIterable, Codable {
    /// Python 3: `handler.py` with `def handle(event, context)` (OpenFaaS `python3-http`).
    case python3
    /// Node.js: `handler.js` exporting `async (event, context)` (OpenFaaS `node18`).
    case node

    /// The handler file a bundle must hold at its root.
    public var handlerFile: String {
        switch self {
        case .python3: "handler.py"
        case .node: "handler.js"
        }
    }

    /// The names users may give, comma-separated, for error messages.
    public static var validNames: String { allCases.map(\.rawValue).joined(separator: ", ") }

    /// Parses a runtime name, accepting common aliases (`python`, `python3-http`, `node18`, `nodejs`…).
    public static func parse(_ name: String?) throws(SwiftletError) -> Runtime {
        guard let name, !name.isEmpty else {
            throw SwiftletError(.invalidInput, "no runtime given: set \"runtime\" to one of \(validNames) (or give an \"image\")")
        }
        switch name.lowercased() {
        case "python3", "python", "python3-http", "python3-flask": return .python3
        case "node", "nodejs", "node18", "node20", "node22": return .node
        default:
            throw SwiftletError(.invalidInput, "unknown runtime '\(name.prefix(60))': valid runtimes are \(validNames)")
        }
    }
}
