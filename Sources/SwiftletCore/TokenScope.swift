import Foundation

/// What an API token may do:
/// - `admin`: everything basic auth may do;
/// - `deploy`: deploy, update, scale and remove functions, and read their status and logs;
/// - `invoke:<function>` (or `invoke:*`): call that function when it requires auth (label
///   `com.swiftlet.auth=true`).
public enum TokenScope: Sendable, Hashable, Codable, CustomStringConvertible {
    case admin
    case deploy
    /// A function name, or `*` for every function.
    case invoke(String)

    /// The label that makes a function's calls require credentials.
    public static let authLabel = "com.swiftlet.auth"

    /// Parses `admin`, `deploy`, `invoke:NAME` or `invoke:*`.
    public init(parsing text: String) throws(SwiftletError) {
        switch text {
        case "admin": self = .admin
        case "deploy": self = .deploy
        default:
            guard text.hasPrefix("invoke:") else {
                throw SwiftletError(.invalidInput, "scope '\(text.prefix(60))' is not admin, deploy, invoke:<function> or invoke:*")
            }
            let name = String(text.dropFirst("invoke:".count))
            if name != "*" {
                do {
                    try FunctionName.validate(name)
                } catch {
                    throw SwiftletError(.invalidInput, "scope '\(text.prefix(60))' names no valid function")
                }
            }
            self = .invoke(name)
        }
    }

    public var description: String {
        switch self {
        case .admin: "admin"
        case .deploy: "deploy"
        case .invoke(let name): "invoke:\(name)"
        }
    }

    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        self = try TokenScope(parsing: text)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }

    /// Whether a function's labels ask for authenticated calls (`com.swiftlet.auth=true`).
    public static func requiresAuth(_ labels: [String: String]) -> Bool {
        labels[authLabel]?.lowercased() == "true"
    }
}

/// An API token as stored and listed (never with its secret).
public struct APIToken: Codable, Sendable, Equatable {
    /// The public id (the part of the token before its secret).
    public var id: String
    /// A name for people (`ci-deployer`), unique.
    public var name: String
    /// What it may do.
    public var scopes: [TokenScope]
    /// When it was created.
    public var createdAt: Date
    /// When it was last used to authenticate (updated at most once a minute).
    public var lastUsedAt: Date?

    /// Creates a token record.
    public init(id: String, name: String, scopes: [TokenScope], createdAt: Date = Date(), lastUsedAt: Date? = nil) {
        self.id = id
        self.name = name
        self.scopes = scopes
        self.createdAt = createdAt
        self.lastUsedAt = lastUsedAt
    }
}

/// A token as `/system/tokens` lists it: times in RFC 3339; `token` only in the answer to its
/// creation (the one time it is shown).
public struct APITokenListing: Codable, Sendable, Equatable {
    /// The public id.
    public var id: String
    /// The name.
    public var name: String
    /// The scopes.
    public var scopes: [TokenScope]
    /// When it was created.
    public var createdAt: String
    /// When it was last used.
    public var lastUsedAt: String?
    /// The token itself, only right after creation.
    public var token: String?

    /// The listing of `record`, with `token` when it was just created.
    public init(_ record: APIToken, token: String? = nil) {
        id = record.id
        name = record.name
        scopes = record.scopes
        createdAt = RFC3339.format(record.createdAt)
        lastUsedAt = record.lastUsedAt.map(RFC3339.format)
        self.token = token
    }
}
