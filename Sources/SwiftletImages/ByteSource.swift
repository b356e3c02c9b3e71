import SwiftletCore

/// A stream of bytes read front to back in bounded chunks (a file, a decompressed layer).
protocol ByteSource: AnyObject {
    /// The next bytes, about `count` of them (a decompressor may return a little more); empty only
    /// at the end of the stream.
    func read(upTo count: Int) throws(SwiftletError) -> [UInt8]
}

extension ByteSource {
    /// Reads and discards the rest of the stream; returns how many bytes that was. Throws
    /// `.tooLarge` past `limit` bytes.
    @discardableResult
    func drain(limit: Int64, what: String) throws(SwiftletError) -> Int64 {
        var total: Int64 = 0
        while true {
            let chunk = try read(upTo: 256 * 1024)
            if chunk.isEmpty { return total }
            total += Int64(chunk.count)
            guard total <= limit else { throw SwiftletError(
                .tooLarge,
                "\(what) has more than \(limit) bytes of trailing data; this is refused"
            ) }
        }
    }
}
