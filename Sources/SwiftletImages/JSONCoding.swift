import Foundation
import SwiftletCore

/// JSON decoding with errors a user can act on, and deterministic encoding (sorted keys), so a
/// manifest written twice has the same digest.
enum JSONCoding {
    static func decode<T: Decodable>(_ type: T.Type, from bytes: [UInt8], what: String) throws(SwiftletError) -> T {
        do {
            return try JSONDecoder().decode(type, from: Data(bytes))
        } catch let error as DecodingError {
            throw SwiftletError(.invalidInput, "\(what) is not valid: \(describe(error)); re-export or re-push the image")
        } catch {
            throw SwiftletError(.invalidInput, "\(what) is not valid JSON; re-export or re-push the image", cause: error)
        }
    }

    static func encode(_ value: some Encodable) -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        // Encoding plain structs of strings and numbers cannot fail.
        return (try? Array(encoder.encode(value))) ?? []
    }

    private static func describe(_ error: DecodingError) -> String {
        func path(_ context: DecodingError.Context) -> String {
            let keys = context.codingPath.map { $0.intValue.map { "[\($0)]" } ?? "." + $0.stringValue }.joined()
            return keys.isEmpty ? "" : " at \(keys)"
        }
        switch error {
        case .keyNotFound(let key, let context): return "the field '\(key.stringValue)' is missing\(path(context))"
        case .typeMismatch(_, let context): return "a field has the wrong type\(path(context))"
        case .valueNotFound(_, let context): return "a field is null\(path(context))"
        case .dataCorrupted(let context): return context.debugDescription + path(context)
        @unknown default: return "\(error)"
        }
    }
}
