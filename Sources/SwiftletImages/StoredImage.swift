import Foundation

/// One reference in the image store, as `swiftlet image ls` lists it.
public struct StoredImage: Sendable, Hashable, Codable {
    /// The normalized reference (`docker.io/library/busybox:latest`).
    public var reference: String
    /// The manifest digest (`sha256:…`).
    public var manifestDigest: String
    /// The stored (compressed) size of the manifest, the config and the layers, in bytes.
    public var size: Int64
    /// When the image was built, from its config; nil if not recorded.
    public var created: Date?

    /// Creates an entry.
    public init(reference: String, manifestDigest: String, size: Int64, created: Date?) {
        self.reference = reference
        self.manifestDigest = manifestDigest
        self.size = size
        self.created = created
    }

    /// Parses an RFC 3339 time as Go writes it (with up to nanosecond fractions).
    static func parseTime(_ text: String) -> Date? {
        var base = Substring(text)
        var fraction = 0.0
        if let dot = text.firstIndex(of: "."), let end = text[dot...].firstIndex(where: { !$0.isNumber && $0 != "." }) {
            fraction = Double("0" + text[dot..<end]) ?? 0
            base = text[..<dot] + text[end...]
        }
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime]
        return formatter.date(from: String(base)).map { $0.addingTimeInterval(fraction) }
    }
}
