import Crypto
import SwiftletCore

/// Passes another source through while computing the sha256 and the length of what went by.
final class HashingSource: ByteSource {
    private let upstream: any ByteSource
    private var hasher = SHA256()
    /// The bytes read so far.
    private(set) var count: Int64 = 0

    init(_ upstream: any ByteSource) {
        self.upstream = upstream
    }

    func read(upTo count: Int) throws(SwiftletError) -> [UInt8] {
        let chunk = try upstream.read(upTo: count)
        hasher.update(data: chunk)
        self.count += Int64(chunk.count)
        return chunk
    }

    /// The digest of everything read; call once, at the end.
    func finalize() -> Digest {
        Digest(hasher.finalize())
    }
}
