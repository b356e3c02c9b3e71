import Hummingbird
import HummingbirdCore
import SwiftletCore
import SwiftletLogs
import SwiftletStore

/// The parameters of `GET /system/logs` and `GET /system/logs/ws`, checked.
struct LogRequest: Sendable {
    var function: String
    var query: LogQuery
    var follow: Bool

    /// Parses the query string: `name` is required (400 without it), an unparsable `tail`,
    /// `since` or `follow` answers 422 as OpenFaaS does, an unknown function 404.
    static func parse(_ uri: URI, store: any FunctionStore) async throws -> LogRequest {
        let parameters = uri.queryParameters
        guard let qualified = parameters.get("name"), !qualified.isEmpty else {
            throw SwiftletError(.invalidInput, "the 'name' query parameter is required: GET /system/logs?name=FUNCTION")
        }
        let (name, nameNamespace) = FunctionName.split(Substring(qualified))
        let namespace = parameters.get("namespace").flatMap { $0.isEmpty ? nil : $0 } ?? nameNamespace.map(String.init)
        if let namespace, namespace != FunctionName.defaultNamespace {
            throw SwiftletError(
                .notFound, "function '\(qualified.prefix(80))' not found: Swiftlet serves the namespace '\(FunctionName.defaultNamespace)'")
        }
        var query = LogQuery()
        if let instance = parameters.get("instance"), !instance.isEmpty { query.instance = instance }
        if let tail = parameters.get("tail"), !tail.isEmpty {
            guard let value = Int(tail) else {
                throw HTTPError(.unprocessableContent, message: "tail '\(tail.prefix(40))' is not a whole number (≤ 0 means all lines)\n")
            }
            query.tail = value
        }
        if let since = parameters.get("since"), !since.isEmpty {
            guard let value = RFC3339.parse(since) else {
                throw HTTPError(
                    .unprocessableContent, message: "since '\(since.prefix(60))' is not an RFC 3339 time like 2024-01-02T15:04:05Z\n")
            }
            query.since = value
        }
        var follow = false
        if let text = parameters.get("follow"), !text.isEmpty {
            switch text.lowercased() {
            case "true", "1", "yes": follow = true
            case "false", "0", "no": follow = false
            default: throw HTTPError(.unprocessableContent, message: "follow '\(text.prefix(20))' is not true or false\n")
            }
        }
        guard (try? FunctionName.validate(String(name))) != nil, try await store.function(named: String(name)) != nil else {
            throw SwiftletError(.notFound, "function '\(name.prefix(63))' not found")
        }
        return LogRequest(function: String(name), query: query, follow: follow)
    }
}
