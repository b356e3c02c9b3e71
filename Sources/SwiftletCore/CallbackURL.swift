import Foundation

/// Checks an `X-Callback-Url`: an absolute `http` or `https` URL with a host, at most 2 KiB,
/// without credentials or a fragment.
public enum CallbackURL {
    /// The longest accepted URL, in bytes.
    public static let maxBytes = 2048

    /// Returns `text` when it is an acceptable callback URL; throws `.invalidInput` saying why not.
    public static func validate(_ text: String) throws(SwiftletError) -> String {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        guard trimmed.utf8.count <= maxBytes else {
            throw SwiftletError(.invalidInput, "X-Callback-Url is longer than \(maxBytes) bytes")
        }
        guard trimmed.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F }),
            let components = URLComponents(string: trimmed),
            let scheme = components.scheme?.lowercased(), scheme == "http" || scheme == "https",
            let host = components.host, !host.isEmpty
        else {
            throw SwiftletError(.invalidInput, "X-Callback-Url '\(trimmed.prefix(80))' is not an absolute http:// or https:// URL with a host")
        }
        guard components.user == nil, components.password == nil, components.fragment == nil else {
            throw SwiftletError(.invalidInput, "X-Callback-Url must not carry credentials or a fragment")
        }
        if let port = components.port, !(1...65535).contains(port) {
            throw SwiftletError(.invalidInput, "X-Callback-Url has an invalid port \(port)")
        }
        return trimmed
    }
}
