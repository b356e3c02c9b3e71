import Crypto
import Foundation
import NIOConcurrencyHelpers
import SwiftletCore
import SwiftletStore

/// Makes and checks API tokens: `swl_<12 hex id>_<43 base64url secret>`. Only the SHA-256 of the
/// secret is stored; checking compares hashes in constant time. A token's last use is recorded
/// at most once a minute.
struct TokenAuthority: Sendable {
    static let prefix = "swl_"
    let store: any TokenStore
    private let lastTouched = NIOLockedValueBox<[String: Date]>([:])

    init(store: any TokenStore) {
        self.store = store
    }

    /// A fresh token: its id, and the whole string to hand to the user (once).
    static func generate() -> (id: String, token: String, secretHash: Data) {
        var generator = SystemRandomNumberGenerator()
        let id = (0..<6).map { _ in String(format: "%02x", UInt8.random(in: 0...255, using: &generator)) }.joined()
        let secretBytes = (0..<32).map { _ in UInt8.random(in: 0...255, using: &generator) }
        let secret = Data(secretBytes).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
        return (id, prefix + id + "_" + secret, hash(secret))
    }

    /// The id and secret of a well-formed token string.
    static func parse(_ text: String) -> (id: String, secret: String)? {
        guard text.hasPrefix(prefix), text.utf8.count == prefix.utf8.count + 12 + 1 + 43 else { return nil }
        let rest = text.dropFirst(prefix.count)
        let id = String(rest.prefix(12))
        let separator = rest.dropFirst(12).first
        let secret = String(rest.dropFirst(13))
        guard separator == "_", id.allSatisfy(\.isHexDigit),
            secret.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "_") })
        else { return nil }
        return (id, secret)
    }

    static func hash(_ secret: String) -> Data {
        Data(SHA256.hash(data: Data(secret.utf8)))
    }

    /// The token `text` names, when its secret matches; nil for anything else.
    func authenticate(_ text: String) async throws -> APIToken? {
        guard let (id, secret) = Self.parse(text), let stored = try await store.token(id: id) else { return nil }
        guard Self.constantTimeEqual(Self.hash(secret), stored.secretHash) else { return nil }
        let now = Date()
        let due = lastTouched.withLockedValue { touched -> Bool in
            if let last = touched[id], now.timeIntervalSince(last) < 60 { return false }
            touched[id] = now
            return true
        }
        if due { try? await store.touchToken(id: id, at: now) }
        return stored.token
    }

    static func constantTimeEqual(_ a: Data, _ b: Data) -> Bool {
        guard a.count == b.count else { return false }
        var difference: UInt8 = 0
        for (x, y) in zip(a, b) { difference |= x ^ y }
        return difference == 0
    }
}
