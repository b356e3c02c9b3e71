import Foundation
import SwiftletCore

/// Where the Docker engine listens, from `DOCKER_HOST` (`unix:///path` or `tcp://host:port`),
/// by default `/var/run/docker.sock`.
public struct DockerEndpoint: Sendable, Equatable, CustomStringConvertible {
    /// The base URL AsyncHTTPClient connects to (`http+unix://…` or `http://host:port`).
    public let baseURL: String
    /// The address as the user wrote it, for messages.
    public let description: String
    /// The socket path when the engine listens on a unix socket.
    public let socketPath: String?

    /// The engine's default socket.
    public static let defaultSocket = "/var/run/docker.sock"

    /// Parses a `DOCKER_HOST` value; nil or empty means the default socket.
    public init(dockerHost: String?) throws {
        let value = (dockerHost ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
        // Messages quote at most the start of a value.
        let shown = value.count > 80 ? value.prefix(80) + "…" : value
        guard !value.unicodeScalars.contains(where: { CharacterSet.whitespacesAndNewlines.contains($0) || CharacterSet.controlCharacters.contains($0) }) else {
            throw SwiftletError(.invalidInput, "DOCKER_HOST '\(shown.debugDescription.dropFirst().dropLast())' contains spaces or control characters")
        }
        if value.isEmpty {
            self.init(socket: Self.defaultSocket)
            return
        }
        if value.hasPrefix("unix://") {
            let path = String(value.dropFirst("unix://".count))
            // sockaddr_un holds 107 bytes of path.
            guard path.hasPrefix("/"), path.count > 1, path.utf8.count <= 107 else {
                throw SwiftletError(.invalidInput, "DOCKER_HOST '\(shown)' names no absolute socket path of at most 107 bytes; use unix:///var/run/docker.sock")
            }
            self.init(socket: path)
        } else if value.hasPrefix("tcp://") {
            let rest = value.dropFirst("tcp://".count).split(separator: "/", maxSplits: 1).first.map(String.init) ?? ""
            guard let colon = rest.lastIndex(of: ":"), !rest[..<colon].isEmpty, let port = UInt16(rest[rest.index(after: colon)...]), port > 0 else {
                throw SwiftletError(.invalidInput, "DOCKER_HOST '\(shown)' is not tcp://host:port")
            }
            self.init(baseURL: "http://\(rest)", description: value, socketPath: nil)
        } else {
            throw SwiftletError(
                .invalidInput, "DOCKER_HOST '\(shown)' is not supported: use unix:///path/to/docker.sock or tcp://host:port (TLS and ssh:// are not)"
            )
        }
    }

    private init(socket: String) {
        let encoded = socket.addingPercentEncoding(withAllowedCharacters: .alphanumerics.union(CharacterSet(charactersIn: "-._~"))) ?? socket
        self.init(baseURL: "http+unix://\(encoded)", description: "unix://\(socket)", socketPath: socket)
    }

    private init(baseURL: String, description: String, socketPath: String?) {
        self.baseURL = baseURL
        self.description = description
        self.socketPath = socketPath
    }
}
