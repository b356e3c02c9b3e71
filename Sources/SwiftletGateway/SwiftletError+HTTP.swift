import Hummingbird
import NIOCore
import SwiftletCore

extension SwiftletError: HTTPResponseError {
    /// The HTTP status that says who is at fault.
    public var status: HTTPResponse.Status {
        switch code {
        case .invalidInput: .badRequest
        case .notFound: .notFound
        case .conflict: .conflict
        case .tooLarge: .contentTooLarge
        case .unauthorized: .unauthorized
        case .forbidden: .forbidden
        case .tooManyRequests: .tooManyRequests
        case .badGateway: .badGateway
        case .unavailable: .serviceUnavailable
        case .timeout: .gatewayTimeout
        case .unsupported: .notImplemented
        default: .internalServerError
        }
    }

    /// A plain-text answer holding the message.
    public func response(from request: Request, context: some RequestContext) throws -> Response {
        var headers = HTTPFields()
        headers[.contentType] = "text/plain; charset=utf-8"
        if code == .unauthorized {
            headers[.wwwAuthenticate] = "Basic realm=\"Restricted\""
        }
        if code == .tooManyRequests {
            headers[.retryAfter] = "1"
        }
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(string: message + "\n")))
    }
}
