extension SwiftletError {
    /// The error for secrets that do not exist, naming every one and how to create it.
    ///
    /// ```swift
    /// throw SwiftletError.missingSecrets(["db-pass"], code: .invalidInput)
    /// // secret 'db-pass' not found; create it with `swiftlet secret create db-pass`
    /// ```
    public static func missingSecrets(_ names: [String], code: Code = .notFound) -> SwiftletError {
        guard names.count > 1 else {
            let name = names.first ?? ""
            return SwiftletError(code, "secret '\(name)' not found; create it with `swiftlet secret create \(name)`")
        }
        let list = names.map { "'\($0)'" }.joined(separator: ", ")
        return SwiftletError(code, "secrets \(list) not found; create each with `swiftlet secret create NAME`")
    }

    /// The error for a secret that functions still use, naming them.
    ///
    /// ```swift
    /// throw SwiftletError.secretInUse("db-pass", by: ["a", "b"])
    /// // secret 'db-pass' is used by functions 'a', 'b'; remove it from them first
    /// ```
    public static func secretInUse(_ name: String, by functions: [String]) -> SwiftletError {
        let list = functions.map { "'\($0)'" }.joined(separator: ", ")
        if functions.count == 1 {
            return SwiftletError(
                .conflict, "secret '\(name)' is used by function \(list); remove it from that function first (redeploy without it or remove the function)"
            )
        }
        return SwiftletError(.conflict, "secret '\(name)' is used by functions \(list); remove it from them first (redeploy without it or remove the functions)")
    }
}
