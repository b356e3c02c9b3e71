import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import SwiftletCore

/// A client of the Docker Engine API (v1.41, Docker 20.10 and later) over AsyncHTTPClient.
///
/// Every failure is a ``SwiftletError``: an engine that does not answer is `.unavailable` with
/// the address, an engine error keeps the engine's own message.
public struct DockerEngine: Sendable {
    /// The API version spoken (Docker 20.10; newer engines accept it).
    public static let apiVersion = "v1.41"

    /// Where the engine listens.
    public let endpoint: DockerEndpoint
    let client: HTTPClient
    /// The time one ordinary request may take.
    let requestTimeout: Duration

    /// Creates a client over `client` (its owner shuts it down).
    public init(endpoint: DockerEndpoint, client: HTTPClient, requestTimeout: Duration = .seconds(30)) {
        self.endpoint = endpoint
        self.client = client
        self.requestTimeout = requestTimeout
    }

    /// The client configuration the engine needs: no redirects, bounded connects, no read timeout
    /// (waits and log streams last as long as the container).
    public static var clientConfiguration: HTTPClient.Configuration {
        var configuration = HTTPClient.Configuration(redirectConfiguration: .disallow, timeout: .init(connect: .seconds(5)))
        configuration.connectionPool.idleTimeout = .seconds(30)
        // Every instance holds two long requests (its wait and its log stream) on top of the short ones.
        configuration.connectionPool.concurrentHTTP1ConnectionsPerHostSoftLimit = 100_000
        configuration.decompression = .disabled
        return configuration
    }

    // MARK: Requests

    /// An answer read in full.
    struct Answer {
        var status: Int
        var body: Data
    }

    func url(_ path: String, query: [(String, String)] = []) -> String {
        var components = URLComponents()
        components.queryItems = query.isEmpty ? nil : query.map { URLQueryItem(name: $0.0, value: $0.1) }
        // `+` would read as a space; `;` and `=` inside values are escaped too.
        let encodedQuery = components.percentEncodedQuery?.replacingOccurrences(of: "+", with: "%2B") ?? ""
        return endpoint.baseURL + "/" + Self.apiVersion + path + (encodedQuery.isEmpty ? "" : "?" + encodedQuery)
    }

    func request(
        _ method: HTTPMethod, _ path: String, query: [(String, String)] = [], json: (any Encodable)? = nil, body: Data? = nil,
        headers: [(String, String)] = [], timeout: Duration? = nil, limit: Int = 16 * 1024 * 1024
    ) async throws -> Answer {
        let response = try await send(method, path, query: query, json: json, body: body, headers: headers, timeout: timeout ?? requestTimeout)
        do {
            let buffer = try await response.body.collect(upTo: limit)
            return Answer(status: Int(response.status.code), body: Data(buffer.readableBytesView))
        } catch {
            throw unreachable(error, doing: "\(method) \(path)")
        }
    }

    func send(
        _ method: HTTPMethod, _ path: String, query: [(String, String)] = [], json: (any Encodable)? = nil, body: Data? = nil,
        headers: [(String, String)] = [], timeout: Duration
    ) async throws -> HTTPClientResponse {
        // A stopped engine removes its socket: say so at once (the client would retry until the deadline).
        if let socket = endpoint.socketPath, access(socket, F_OK) != 0 {
            throw unreachable(SwiftletError(.unavailable, "no socket at \(socket)"), doing: "\(method) \(path)")
        }
        var request = HTTPClientRequest(url: url(path, query: query))
        request.method = method
        request.headers.add(name: "User-Agent", value: "swiftlet")
        request.headers.add(name: "Host", value: "docker")
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        if let json {
            let data = try JSONEncoder().encode(json)
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(bytes: data))
        } else if let body {
            request.body = .bytes(ByteBuffer(bytes: body))
        }
        do {
            return try await client.execute(request, timeout: .nanoseconds(timeout.inNanoseconds))
        } catch {
            throw unreachable(error, doing: "\(method) \(path)")
        }
    }

    func unreachable(_ error: any Error, doing what: String) -> SwiftletError {
        if let error = error as? SwiftletError, error.message.hasPrefix("the Docker engine") { return error }
        let detail = (error as? SwiftletError)?.message ?? "\(error)"
        return SwiftletError(
            .unavailable,
            "the Docker engine at \(endpoint) did not answer (\(what): \(detail)); start dockerd or point DOCKER_HOST at a running engine",
            cause: error
        )
    }

    /// The engine's `{"message": …}` error as a SwiftletError with a code matching the status.
    func failure(_ answer: Answer, doing what: String) -> SwiftletError {
        let message = Self.message(of: answer)
        let code: SwiftletError.Code =
            switch answer.status {
            case 400: .invalidInput
            case 401, 403: .unauthorized
            case 404: .notFound
            case 409: .conflict
            default: .internal
            }
        return SwiftletError(code, "the Docker engine refused to \(what) (\(answer.status)): \(message)")
    }

    /// The engine's own words: its `{"message": …}`, else the start of the body.
    static func message(of answer: Answer) -> String {
        struct Message: Decodable { var message: String }
        return (try? JSONDecoder().decode(Message.self, from: answer.body).message)
            ?? String(decoding: answer.body.prefix(500), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    func decode<T: Decodable>(_ type: T.Type, _ answer: Answer, doing what: String) throws -> T {
        guard (200..<300).contains(answer.status) else { throw failure(answer, doing: what) }
        do {
            return try JSONDecoder().decode(T.self, from: answer.body)
        } catch {
            throw SwiftletError(.internal, "the Docker engine's answer to \(what) is not what Swiftlet expects: \(error)")
        }
    }

    func expectSuccess(_ answer: Answer, doing what: String, alsoFine: Set<Int> = []) throws {
        guard (200..<300).contains(answer.status) || alsoFine.contains(answer.status) else { throw failure(answer, doing: what) }
    }

    // MARK: System

    /// `GET /_ping`: throws `.unavailable` when the engine does not answer.
    public func ping(timeout: Duration = .seconds(3)) async throws {
        let answer = try await request(.GET, "/_ping", timeout: timeout)
        try expectSuccess(answer, doing: "answer a ping")
    }

    /// `GET /info`.
    public func info() async throws -> DockerInfo {
        try decode(DockerInfo.self, try await request(.GET, "/info"), doing: "describe itself")
    }

    // MARK: Images

    /// The image's config, or nil when the engine does not have it.
    public func inspectImage(_ reference: String) async throws -> DockerImage? {
        let answer = try await request(.GET, "/images/\(Self.pathSegment(reference))/json")
        if answer.status == 404 { return nil }
        return try decode(DockerImage.self, answer, doing: "inspect image \(reference)")
    }

    /// Pulls `reference`; `auth` is the `X-Registry-Auth` value. Errors reported inside the
    /// progress stream (with status 200) are thrown too.
    public func pullImage(_ reference: String, auth: DockerRegistryAuth?, timeout: Duration = .seconds(600)) async throws {
        var headers: [(String, String)] = []
        if let auth { headers.append(("X-Registry-Auth", auth.headerValue)) }
        let answer = try await request(.POST, "/images/create", query: [("fromImage", reference)], headers: headers, timeout: timeout)
        guard (200..<300).contains(answer.status) else {
            // A registry that is unreachable, refuses the credentials or lacks the image: the image is not available.
            let code: SwiftletError.Code = answer.status == 401 || answer.status == 403 ? .unauthorized : .notFound
            throw SwiftletError(code, "the Docker engine could not pull image \(reference) (\(answer.status)): \(Self.message(of: answer))")
        }
        struct Progress: Decodable { var error: String? }
        for line in answer.body.split(separator: UInt8(ascii: "\n")) {
            if let error = (try? JSONDecoder().decode(Progress.self, from: Data(line)))?.error {
                throw SwiftletError(.notFound, "the Docker engine could not pull image \(reference): \(error)")
            }
        }
    }

    /// Imports a root filesystem tarball as the image `repository:tag` (`docker import`).
    public func importImage(tar: Data, repository: String, tag: String) async throws {
        let answer = try await request(
            .POST, "/images/create", query: [("fromSrc", "-"), ("repo", repository), ("tag", tag)], body: tar,
            headers: [("Content-Type", "application/x-tar")], timeout: .seconds(600)
        )
        try expectSuccess(answer, doing: "import image \(repository):\(tag)")
        struct Progress: Decodable { var error: String? }
        for line in answer.body.split(separator: UInt8(ascii: "\n")) {
            if let error = (try? JSONDecoder().decode(Progress.self, from: Data(line)))?.error {
                throw SwiftletError(.internal, "the Docker engine could not import image \(repository):\(tag): \(error)")
            }
        }
    }

    // MARK: Containers

    /// Creates a container named `name`; returns its id.
    public func createContainer(name: String, _ configuration: DockerContainerConfig) async throws -> String {
        struct Created: Decodable { var Id: String }
        let answer = try await request(.POST, "/containers/create", query: [("name", name)], json: configuration)
        return try decode(Created.self, answer, doing: "create container \(name)").Id
    }

    /// Starts a created container.
    public func startContainer(_ id: String) async throws {
        try expectSuccess(try await request(.POST, "/containers/\(id)/start"), doing: "start container \(id)", alsoFine: [304])
    }

    /// The container's state, or nil when it does not exist.
    public func inspectContainer(_ id: String) async throws -> DockerContainer? {
        let answer = try await request(.GET, "/containers/\(id)/json")
        if answer.status == 404 { return nil }
        return try decode(DockerContainer.self, answer, doing: "inspect container \(id)")
    }

    /// Removes the container (killing it first) and its anonymous volumes; a missing one is fine.
    public func removeContainer(_ id: String) async throws {
        let answer = try await request(.DELETE, "/containers/\(id)", query: [("force", "true"), ("v", "true")])
        try expectSuccess(answer, doing: "remove container \(id)", alsoFine: [404])
    }

    /// Waits until the container is not running; returns its exit code.
    public func waitContainer(_ id: String) async throws -> Int {
        struct Waited: Decodable { var StatusCode: Int }
        let answer = try await request(.POST, "/containers/\(id)/wait", query: [("condition", "not-running")], timeout: .seconds(365 * 86400))
        return try decode(Waited.self, answer, doing: "wait for container \(id)").StatusCode
    }

    /// The containers carrying all of `labels` (`key=value` or `key`), running or not.
    public func listContainers(labels: [String]) async throws -> [DockerContainerSummary] {
        let filters = try String(decoding: JSONEncoder().encode(["label": labels]), as: UTF8.self)
        let answer = try await request(.GET, "/containers/json", query: [("all", "true"), ("filters", filters)])
        return try decode([DockerContainerSummary].self, answer, doing: "list containers")
    }

    /// One reading of the container's memory and CPU use, or nil when it is not running.
    public func stats(_ id: String) async throws -> InstanceUsage? {
        let answer = try await request(.GET, "/containers/\(id)/stats", query: [("stream", "false"), ("one-shot", "true")])
        if answer.status == 404 { return nil }
        let stats = try decode(DockerStats.self, answer, doing: "read the stats of container \(id)")
        guard let memory = stats.memory_stats?.usage, let cpu = stats.cpu_stats?.cpu_usage?.total_usage else { return nil }
        return InstanceUsage(memoryBytes: memory, cpuSeconds: Double(cpu) / 1e9)
    }

    /// Follows the container's stdout and stderr from its start (or `since`, unix seconds) until it ends, calling `line`
    /// for each line. Returns when the stream ends (container gone or engine lost).
    public func followLogs(_ id: String, since: Int? = nil, line: @escaping @Sendable (DockerLogStream.Stream, String) -> Void) async throws {
        var query = [("follow", "true"), ("stdout", "true"), ("stderr", "true")]
        if let since { query.append(("since", String(since))) }
        let response = try await send(.GET, "/containers/\(id)/logs", query: query, timeout: .seconds(365 * 86400))
        guard response.status == .ok else {
            let body = (try? await response.body.collect(upTo: 64 * 1024)).map { Data($0.readableBytesView) } ?? Data()
            throw failure(Answer(status: Int(response.status.code), body: body), doing: "stream the logs of \(id)")
        }
        var demultiplexer = DockerLogStream()
        for try await chunk in response.body {
            for (stream, text) in demultiplexer.feed(chunk) { line(stream, text) }
        }
        for (stream, text) in demultiplexer.finish() { line(stream, text) }
    }

    // MARK: Networks

    /// The networks carrying all of `labels`.
    public func listNetworks(labels: [String]) async throws -> [DockerNetwork] {
        let filters = try String(decoding: JSONEncoder().encode(["label": labels]), as: UTF8.self)
        return try decode([DockerNetwork].self, try await request(.GET, "/networks", query: [("filters", filters)]), doing: "list networks")
    }

    /// Creates a bridge network; returns its id.
    public func createNetwork(name: String, labels: [String: String]) async throws -> String {
        struct Create: Encodable {
            var Name: String
            var Driver = "bridge"
            var CheckDuplicate = true
            var Labels: [String: String]
        }
        struct Created: Decodable { var Id: String }
        let answer = try await request(.POST, "/networks/create", json: Create(Name: name, Labels: labels))
        return try decode(Created.self, answer, doing: "create network \(name)").Id
    }

    /// Removes a network; a missing one is fine.
    public func removeNetwork(_ id: String) async throws {
        try expectSuccess(try await request(.DELETE, "/networks/\(id)"), doing: "remove network \(id)", alsoFine: [404])
    }

    /// Escapes a reference (`registry:5000/a/b:tag`) for use as one path segment.
    static func pathSegment(_ value: String) -> String {
        value.addingPercentEncoding(withAllowedCharacters: .alphanumerics.union(CharacterSet(charactersIn: "-._~:/@"))) ?? value
    }
}
