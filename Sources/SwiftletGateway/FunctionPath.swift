import SwiftletCore

/// The function and the path inside it named by `/function/NAME[.NAMESPACE][/path…]` or
/// `/async-function/…`.
struct FunctionPath {
    /// The function's name.
    var name: String
    /// The path inside the function (`/` when none was given), without the query.
    var subPath: String

    /// Parses the part of a request path after `prefix`; throws `.notFound` for a name that
    /// cannot exist or another namespace.
    init(path: String, prefix: String) throws(SwiftletError) {
        let rest = path.dropFirst(prefix.count)
        let nameEnd = rest.firstIndex(of: "/") ?? rest.endIndex
        let (name, namespace) = FunctionName.split(rest[..<nameEnd])
        if let namespace, namespace != FunctionName.defaultNamespace {
            throw SwiftletError(.notFound, "function '\(name.prefix(63)).\(namespace.prefix(63))' not found: Swiftlet serves the namespace '\(FunctionName.defaultNamespace)'")
        }
        do {
            try FunctionName.validate(String(name))
        } catch {
            throw SwiftletError(.notFound, "function '\(name.prefix(63))' not found")
        }
        self.name = String(name)
        self.subPath = rest[nameEnd...].isEmpty ? "/" : String(rest[nameEnd...])
    }
}
