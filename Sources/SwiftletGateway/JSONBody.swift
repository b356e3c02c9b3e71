import Foundation
import Hummingbird
import NIOCore
import SwiftletCore

/// Decoding request bodies and encoding answers as JSON, with errors a user can act on.
enum JSONBody {
    /// Decodes `T` from the request body (bounded by the context's upload limit).
    static func decode<T: Decodable>(_ type: T.Type, from request: Request, context: SwiftletRequestContext) async throws -> T {
        let buffer: ByteBuffer
        do {
            buffer = try await request.body.collect(upTo: context.maxUploadSize)
        } catch is NIOTooManyBytesError {
            throw SwiftletError(.tooLarge, "the request body is larger than \(context.maxUploadSize) bytes; make the code bundle smaller")
        }
        guard buffer.readableBytes > 0 else {
            throw SwiftletError(.invalidInput, "the request body is empty; send a JSON document")
        }
        do {
            return try JSONDecoder().decode(T.self, from: buffer)
        } catch let DecodingError.keyNotFound(key, _) {
            throw SwiftletError(.invalidInput, "invalid JSON: the field \"\(key.stringValue)\" is missing")
        } catch let DecodingError.typeMismatch(_, context) {
            throw SwiftletError(.invalidInput, "invalid JSON: the field \"\(context.codingPath.map(\.stringValue).joined(separator: "."))\" has the wrong type")
        } catch let DecodingError.valueNotFound(_, context) {
            throw SwiftletError(.invalidInput, "invalid JSON: the field \"\(context.codingPath.map(\.stringValue).joined(separator: "."))\" is null")
        } catch {
            throw SwiftletError(.invalidInput, "the request body is not valid JSON; check quoting and commas")
        }
    }
}

/// JSON answers.
enum JSONResponse {
    static func make(_ value: some Encodable, status: HTTPResponse.Status = .ok) throws -> Response {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let data = try encoder.encode(value)
        return Response(status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }
}
