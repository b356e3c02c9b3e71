import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import SwiftletCore
import SwiftletGateway

/// A small client of the gateway's HTTP API, for the CLI.
struct GatewayClient {
    let baseURL: String
    let credentials: (user: String, password: String)?
    /// An API token (`SWIFTLET_TOKEN`), sent instead of basic auth when set.
    var token: String? = nil

    /// The CLI's HTTP client: a refused connection fails at once instead of being retried.
    static let http: HTTPClient = {
        var configuration = HTTPClient.Configuration()
        configuration.connectionPool.retryConnectionEstablishment = false
        configuration.timeout.connect = .seconds(10)
        return HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: configuration)
    }()

    /// A gateway answer.
    struct Answer {
        var status: Int
        var headers: HTTPHeaders
        var body: ByteBuffer
        var text: String { String(buffer: body).trimmingCharacters(in: .whitespacesAndNewlines) }
    }

    /// Sends a request and collects the answer (up to `limit` bytes).
    func send(
        _ method: HTTPMethod, _ path: String, body: ByteBuffer? = nil, headers: [(String, String)] = [], auth: Bool = true,
        timeout: TimeAmount = .seconds(120), limit: Int = 256 * 1024 * 1024
    ) async throws -> Answer {
        var request = HTTPClientRequest(url: baseURL + path)
        request.method = method
        request.headers.add(name: "User-Agent", value: "swiftlet-cli/\(SwiftletVersion.current)")
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        if auth { addAuthorization(to: &request) }
        if let body {
            request.body = .bytes(body)
        }
        return try await execute(request, timeout: timeout, limit: limit)
    }

    /// Adds the user agent and, when known, the API token or else basic auth.
    func addAuthorization(to request: inout HTTPClientRequest) {
        request.headers.replaceOrAdd(name: "User-Agent", value: "swiftlet-cli/\(SwiftletVersion.current)")
        if let token {
            request.headers.replaceOrAdd(name: "Authorization", value: "Bearer \(token)")
        } else if let credentials {
            let token = Data("\(credentials.user):\(credentials.password)".utf8).base64EncodedString()
            request.headers.replaceOrAdd(name: "Authorization", value: "Basic \(token)")
        }
    }

    /// Executes `request` and collects the answer, turning transport failures into one-line errors.
    func execute(_ request: HTTPClientRequest, timeout: TimeAmount, limit: Int = 256 * 1024 * 1024) async throws -> Answer {
        do {
            let response = try await Self.http.execute(request, timeout: timeout)
            let collected = try await response.body.collect(upTo: limit)
            return Answer(status: Int(response.status.code), headers: response.headers, body: collected)
        } catch let error as HTTPClientError where error == .connectTimeout || error == .remoteConnectionClosed {
            throw SwiftletError(.unavailable, "cannot reach the gateway at \(baseURL) (\(error)); is `swiftlet up` running?")
        } catch let error as HTTPClientError {
            throw SwiftletError(.unavailable, "request to \(baseURL) failed: \(error)")
        } catch is NIOTooManyBytesError {
            throw SwiftletError(.tooLarge, "the answer is larger than \(limit) bytes")
        } catch let error as SwiftletError {
            throw error
        } catch {
            let reason = "\(error)".contains("Connection refused") ? "connection refused" : "\(error)"
            throw SwiftletError(.unavailable, "cannot reach the gateway at \(baseURL) (\(reason)); is `swiftlet up` running?")
        }
    }

    /// Throws a one-line error for a failed answer.
    func check(_ answer: Answer, _ what: String) throws {
        guard (200..<300).contains(answer.status) else {
            let detail = answer.text.isEmpty ? "HTTP \(answer.status)" : answer.text
            if answer.status == 401 {
                throw SwiftletError(.unauthorized, "\(what): the gateway refused the credentials (\(detail)); set SWIFTLET_USER/SWIFTLET_PASSWORD or --data-dir")
            }
            throw SwiftletError(.invalidInput, "\(what): \(detail)")
        }
    }

    /// Decodes JSON from an answer.
    func decode<T: Decodable>(_ type: T.Type, _ answer: Answer) throws -> T {
        do {
            return try JSONDecoder().decode(T.self, from: answer.body)
        } catch {
            throw SwiftletError(.internal, "the gateway at \(baseURL) sent an answer that is not the expected JSON; is it a Swiftlet or OpenFaaS gateway?")
        }
    }
}
