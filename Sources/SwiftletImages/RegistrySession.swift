import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import NIOHTTP1
import SwiftletCore

/// The HTTP side of one pull: requests to one repository, answering the registry's auth
/// challenges (anonymous, Bearer token, Basic) and following redirects by hand when the
/// `HTTPClient` does not. Used by one task at a time.
final class RegistrySession {
    let http: HTTPClient
    let reference: RegistryReference
    let configuration: RegistryClient.Configuration
    let logger: Logger
    /// `http(s)://host[:port]`.
    let baseURL: String
    /// The `Authorization` value that worked last (a Bearer token or Basic credentials).
    private var authorization: String?

    init(http: HTTPClient, reference: RegistryReference, configuration: RegistryClient.Configuration, logger: Logger) {
        self.http = http
        self.reference = reference
        self.configuration = configuration
        self.logger = logger
        baseURL = (configuration.insecure ? "http://" : "https://") + reference.apiHost
    }

    /// `GET /v2/<repository>/<path>`, authenticating if the registry asks to. Returns any status but 401.
    func get(_ path: String, headers: HTTPHeaders = [:], timeout: Duration) async throws -> HTTPClientResponse {
        let url = baseURL + "/v2/" + reference.repository + "/" + path
        var challenged = false
        while true {
            let response = try await send(url: url, headers: headers, authorization: authorization, timeout: timeout)
            guard response.status == .unauthorized else { return response }
            let header = response.headers.first(name: "WWW-Authenticate") ?? ""
            _ = try? await response.body.collect(upTo: 64 * 1024)
            guard !challenged, let challenge = RegistryAuthChallenge(header: header) else {
                throw unauthorized(challenged: challenged, scheme: RegistryAuthChallenge(header: header)?.scheme)
            }
            challenged = true
            switch challenge.scheme {
            case "bearer":
                authorization = "Bearer " + (try await fetchToken(challenge))
            case "basic":
                guard let credentials = configuration.credentials else { throw unauthorized(challenged: false, scheme: "basic") }
                authorization = credentials.basicAuthorization
            default:
                throw SwiftletError(
                    .unsupported,
                    "registry \(reference.host) asks for '\(challenge.scheme)' authentication; only Bearer tokens and Basic are supported"
                )
            }
        }
    }

    /// Sends a GET, following up to 5 redirects itself (dropping `Authorization` on another origin).
    func send(url: String, headers: HTTPHeaders, authorization: String?, timeout: Duration) async throws -> HTTPClientResponse {
        var url = url
        var authorization = authorization
        for _ in 0...5 {
            var request = HTTPClientRequest(url: url)
            request.headers = headers
            request.headers.replaceOrAdd(name: "User-Agent", value: "swiftlet")
            if let authorization { request.headers.replaceOrAdd(name: "Authorization", value: authorization) }
            let response: HTTPClientResponse
            do {
                response = try await http.execute(request, timeout: .nanoseconds(timeout.inNanoseconds), logger: logger)
            } catch {
                throw transportError(error, url: url, timeout: timeout)
            }
            guard [301, 302, 303, 307, 308].contains(response.status.code),
                let location = response.headers.first(name: "Location"),
                let next = URL(string: location, relativeTo: URL(string: url))?.absoluteURL
            else { return response }
            _ = try? await response.body.collect(upTo: 64 * 1024)
            if let current = URL(string: url), current.host != next.host || current.port != next.port || current.scheme != next.scheme {
                authorization = nil
            }
            logger.debug("following redirect", metadata: ["url": "\(next.absoluteString)"])
            url = next.absoluteString
        }
        throw SwiftletError(
            .badGateway, "registry \(reference.host) redirected \(url) more than 5 times; check the registry's storage configuration")
    }

    /// GETs a token from the challenge's realm, with the credentials if there are any.
    private func fetchToken(_ challenge: RegistryAuthChallenge) async throws -> String {
        guard let realm = challenge.parameters["realm"], let realmURL = URL(string: realm),
            realmURL.scheme == "https" || realmURL.scheme == "http"
        else {
            throw SwiftletError(
                .badGateway,
                "registry \(reference.host) sent a Bearer challenge without a usable realm URL; check the registry's auth configuration")
        }
        if realmURL.scheme == "http", configuration.credentials != nil, !configuration.insecure {
            throw SwiftletError(
                .invalidInput,
                "registry \(reference.host) asks to send credentials to the plain-HTTP token server \(realm); "
                    + "pass --insecure if you trust this network"
            )
        }
        var query: [String] = []
        var allowed = CharacterSet.urlQueryAllowed
        allowed.remove(charactersIn: "&+=?#")
        if let service = challenge.parameters["service"] {
            query.append("service=" + (service.addingPercentEncoding(withAllowedCharacters: allowed) ?? service))
        }
        let scope = challenge.parameters["scope"] ?? "repository:\(reference.repository):pull"
        query.append("scope=" + (scope.addingPercentEncoding(withAllowedCharacters: allowed) ?? scope))
        let url = realm + (realm.contains("?") ? "&" : "?") + query.joined(separator: "&")
        let response = try await send(
            url: url, headers: [:], authorization: configuration.credentials?.basicAuthorization, timeout: configuration.requestTimeout)
        let body = try? await response.body.collect(upTo: 1024 * 1024)
        guard response.status == .ok else {
            let code: SwiftletError.Code = response.status == .unauthorized || response.status == .forbidden ? .unauthorized : .badGateway
            throw SwiftletError(
                code,
                "the token server \(realm) for registry \(reference.host) answered \(response.status.code)"
                    + (configuration.credentials == nil
                        ? "; the image may be private: pass credentials" : "; check the user name and password")
            )
        }
        struct TokenResponse: Decodable {
            var token: String?
            var accessToken: String?
            enum CodingKeys: String, CodingKey {
                case token
                case accessToken = "access_token"
            }
        }
        let decoded = body.flatMap { try? JSONDecoder().decode(TokenResponse.self, from: Data($0.readableBytesView)) }
        guard let token = [decoded?.token, decoded?.accessToken].compactMap({ $0 }).first(where: { !$0.isEmpty }) else {
            throw SwiftletError(.badGateway, "the token server \(realm) for registry \(reference.host) answered without a token")
        }
        return token
    }

    private func unauthorized(challenged: Bool, scheme: String?) -> SwiftletError {
        let image = "\(reference.host)/\(reference.repository)"
        if let credentials = configuration.credentials, challenged {
            return SwiftletError(
                .unauthorized,
                "registry \(reference.host) rejected the credentials of user '\(credentials.username)' for \(image) (HTTP 401); "
                    + "check the user name, the password and the user's pull access"
            )
        }
        if scheme == "basic" || configuration.credentials == nil {
            return SwiftletError(
                .unauthorized,
                "registry \(reference.host) requires authentication to pull \(image) (HTTP 401); pass a user name and password"
            )
        }
        return SwiftletError(
            .unauthorized, "registry \(reference.host) refused access to \(image) (HTTP 401) and sent no usable auth challenge")
    }

    /// Turns an `HTTPClient` failure into a `SwiftletError` that says what to check.
    func transportError(_ error: any Error, url: String, timeout: Duration) -> any Error {
        if error is SwiftletError || error is CancellationError { return error }
        if let httpError = error as? HTTPClientError {
            if httpError == .deadlineExceeded || httpError == .readTimeout {
                return SwiftletError(
                    .timeout,
                    "registry \(reference.host) did not answer \(url) in time (limit \(timeout)); check the network or raise the timeout",
                    cause: error
                )
            }
            if httpError == .cancelled, Task.isCancelled { return CancellationError() }
        }
        let hint = configuration.insecure ? "" : "; for a plain-HTTP registry pass --insecure"
        return SwiftletError(
            .unavailable,
            "cannot reach registry \(reference.host) at \(baseURL): check the host and port and that the registry is running\(hint)",
            cause: error
        )
    }
}
