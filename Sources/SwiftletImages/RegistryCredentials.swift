import Foundation

/// A user name and password for a registry (Basic auth, or the credentials sent to a token server).
public struct RegistryCredentials: Sendable, Hashable, CustomStringConvertible {
    /// The user name.
    public var username: String
    /// The password or access token.
    public var password: String

    /// Creates credentials.
    public init(username: String, password: String) {
        self.username = username
        self.password = password
    }

    /// The value of a Basic `Authorization` header.
    var basicAuthorization: String {
        "Basic " + Data((username + ":" + password).utf8).base64EncodedString()
    }

    /// The user name only: a password never ends up in a log or an error message.
    public var description: String { "\(username):<redacted>" }
}
