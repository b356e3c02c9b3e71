/// Validation of function names and namespaces.
public enum FunctionName {
    /// The namespace Swiftlet serves, as OpenFaaS names its default one.
    public static let defaultNamespace = "openfaas-fn"
    /// The longest name allowed (a DNS-1123 label).
    public static let maxLength = 63

    /// Checks that `name` is a DNS-1123 label: lower-case letters, digits and `-`, starting and
    /// ending with a letter or digit, at most 63 characters.
    public static func validate(_ name: String) throws(SwiftletError) {
        let bytes = Array(name.utf8)
        guard !bytes.isEmpty else {
            throw SwiftletError(.invalidInput, "the function name is empty; give a name like 'hello' (lower-case letters, digits and '-')")
        }
        guard bytes.count <= maxLength else {
            throw SwiftletError(.invalidInput, "the function name is \(bytes.count) characters long; use at most \(maxLength)")
        }
        func isAlnum(_ b: UInt8) -> Bool { (b >= 0x61 && b <= 0x7A) || (b >= 0x30 && b <= 0x39) }
        let valid = bytes.allSatisfy { isAlnum($0) || $0 == 0x2D } && isAlnum(bytes.first!) && isAlnum(bytes.last!)
        guard valid else {
            throw SwiftletError(
                .invalidInput,
                "invalid function name '\(name.prefix(80))': use lower-case letters, digits and '-', starting and ending with a letter or digit"
            )
        }
    }

    /// Checks a namespace: empty means the default; anything else but the default is refused.
    public static func resolveNamespace(_ namespace: String?) throws(SwiftletError) -> String {
        guard let namespace, !namespace.isEmpty else { return defaultNamespace }
        guard namespace == defaultNamespace else {
            throw SwiftletError(.invalidInput, "namespace '\(namespace.prefix(80))' does not exist; Swiftlet serves the namespace '\(defaultNamespace)'")
        }
        return namespace
    }

    /// Splits `name.namespace` (namespace after the last dot) as in `/function/{name}.{namespace}`.
    public static func split(_ qualified: Substring) -> (name: Substring, namespace: Substring?) {
        guard let dot = qualified.lastIndex(of: ".") else { return (qualified, nil) }
        return (qualified[..<dot], qualified[qualified.index(after: dot)...])
    }
}
