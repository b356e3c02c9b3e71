/// A parsed `WWW-Authenticate` challenge: `Bearer realm="…",service="…",scope="…"` or `Basic realm="…"`.
struct RegistryAuthChallenge: Sendable, Equatable {
    /// The scheme, lowercased (`bearer`, `basic`).
    var scheme: String
    /// The parameters, keys lowercased (`realm`, `service`, `scope`).
    var parameters: [String: String]

    /// Parses the first challenge of a header value; nil if there is no scheme.
    init?(header: String) {
        var chars = Substring(header.trimmingPrefix(while: \.isWhitespace))
        let scheme = chars.prefix { !$0.isWhitespace && $0 != "," }
        guard !scheme.isEmpty else { return nil }
        self.scheme = scheme.lowercased()
        chars = chars.dropFirst(scheme.count)
        var parameters: [String: String] = [:]
        while true {
            chars = chars.drop { $0.isWhitespace || $0 == "," }
            let key = chars.prefix { $0 != "=" && $0 != "," && !$0.isWhitespace }
            guard !key.isEmpty else { break }
            chars = chars.dropFirst(key.count).drop(while: \.isWhitespace)
            // A bare token with no '=' starts the next challenge: stop at the first one.
            guard chars.first == "=" else { break }
            chars = chars.dropFirst().drop(while: \.isWhitespace)
            var value = ""
            if chars.first == "\"" {
                chars = chars.dropFirst()
                while let character = chars.first {
                    chars = chars.dropFirst()
                    if character == "\"" { break }
                    if character == "\\", let escaped = chars.first {
                        value.append(escaped)
                        chars = chars.dropFirst()
                    } else {
                        value.append(character)
                    }
                }
            } else {
                value = String(chars.prefix { $0 != "," && !$0.isWhitespace })
                chars = chars.dropFirst(value.count)
            }
            parameters[key.lowercased()] = value
        }
        self.parameters = parameters
    }
}
