import SwiftletCore

/// Passes another source through, refusing to read more than `limit` bytes from it.
final class LimitedSource: ByteSource {
    private let upstream: any ByteSource
    private let limit: Int64
    private let what: String
    private var count: Int64 = 0

    init(_ upstream: any ByteSource, limit: Int64, what: String) {
        self.upstream = upstream
        self.limit = limit
        self.what = what
    }

    func read(upTo count: Int) throws(SwiftletError) -> [UInt8] {
        let chunk = try upstream.read(upTo: count)
        self.count += Int64(chunk.count)
        guard self.count <= limit else {
            throw SwiftletError(
                .tooLarge,
                "\(what) unpacks to more than \(limit) bytes; this is refused (a compression bomb, or an image too large for Swiftlet's limits)"
            )
        }
        return chunk
    }
}
