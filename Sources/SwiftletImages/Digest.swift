import Crypto
import Foundation
import SwiftletCore

/// A content digest, `sha256:<64 lowercase hex>`: the name of every blob in the image store.
///
/// Only sha256 is supported; the hex is validated before it ever becomes part of a path.
///
/// ```swift
/// let digest = try Digest("sha256:" + String(repeating: "a", count: 64))
/// digest.hex          // "aaaa…"
/// Digest.sha256(of: Data("hello".utf8)).description  // "sha256:2cf24d…"
/// ```
public struct Digest: Sendable, Hashable, Comparable, Codable, CustomStringConvertible {
    /// The 64 lowercase hex digits of the sha256.
    public let hex: String

    /// Parses `sha256:<64 lowercase hex>`; other algorithms throw `.unsupported`, anything else `.invalidInput`.
    public init(_ text: String) throws(SwiftletError) {
        guard let colon = text.firstIndex(of: ":") else {
            throw SwiftletError(.invalidInput, "'\(text.prefix(80))' is not a digest; write it as sha256:<64 hex digits>")
        }
        let algorithm = text[..<colon]
        guard algorithm == "sha256" else {
            if ["sha384", "sha512", "blake3"].contains(algorithm) {
                throw SwiftletError(.unsupported, "the digest '\(text.prefix(80))' uses \(algorithm); only sha256 digests are supported")
            }
            throw SwiftletError(.invalidInput, "'\(text.prefix(80))' is not a digest; write it as sha256:<64 hex digits>")
        }
        try self.init(hex: String(text[text.index(after: colon)...]))
    }

    /// Creates a digest from its 64 lowercase hex digits.
    public init(hex: String) throws(SwiftletError) {
        guard Self.isHex(hex) else {
            throw SwiftletError(
                .invalidInput,
                "'sha256:\(hex.prefix(80))' is not a valid digest; a sha256 digest has exactly 64 lowercase hex digits"
            )
        }
        self.hex = hex
    }

    private init(checkedHex: String) {
        hex = checkedHex
    }

    /// The sha256 of `data`.
    public static func sha256(of data: some DataProtocol) -> Digest {
        var hasher = SHA256()
        hasher.update(data: data)
        return Digest(hasher.finalize())
    }

    /// The digest of a finished sha256.
    init(_ digest: SHA256.Digest) {
        let digits = Array("0123456789abcdef".utf8)
        var text: [UInt8] = []
        text.reserveCapacity(64)
        for byte in digest {
            text.append(digits[Int(byte >> 4)])
            text.append(digits[Int(byte & 0x0F)])
        }
        self.init(checkedHex: String(decoding: text, as: UTF8.self))
    }

    /// True for exactly 64 lowercase hex digits.
    static func isHex(_ text: some StringProtocol) -> Bool {
        text.utf8.count == 64 && text.utf8.allSatisfy { (0x30...0x39).contains($0) || (0x61...0x66).contains($0) }
    }

    /// `sha256:<hex>`.
    public var description: String { "sha256:" + hex }

    /// The first 12 hex digits, as `docker images` shows them.
    public var short: String { String(hex.prefix(12)) }

    /// Orders digests by their hex, for stable listings.
    public static func < (lhs: Digest, rhs: Digest) -> Bool { lhs.hex < rhs.hex }

    /// Decodes `sha256:<hex>`, validated.
    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        do {
            try self.init(text)
        } catch {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: error.message))
        }
    }

    /// Encodes `sha256:<hex>`.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }
}
