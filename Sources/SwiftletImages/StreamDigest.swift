import SwiftletCore

/// A whole stream's sha256 and length.
struct StreamDigest: Sendable, Hashable {
    var digest: Digest
    var size: Int64

    /// Hashes the rest of `source`, refusing more than `limit` bytes.
    static func of(_ source: any ByteSource, limit: Int64, what: String) throws(SwiftletError) -> StreamDigest {
        let hashing = HashingSource(source)
        while true {
            let chunk = try hashing.read(upTo: 256 * 1024)
            if chunk.isEmpty { break }
            guard hashing.count <= limit else {
                throw SwiftletError(.tooLarge, "\(what) unpacks to more than \(limit) bytes; this is refused")
            }
        }
        return StreamDigest(digest: hashing.finalize(), size: hashing.count)
    }
}
