import SwiftletCore

/// The bytes of a file.
final class FileSource: ByteSource {
    private let file: FileDescriptor

    /// Opens `path`.
    init(path: String) throws(SwiftletError) {
        file = try FileDescriptor.open(reading: path)
    }

    func read(upTo count: Int) throws(SwiftletError) -> [UInt8] {
        try file.read(upTo: count)
    }

    /// The first `count` bytes of the file at `path` (fewer if it is shorter).
    static func prefix(of path: String, count: Int) throws(SwiftletError) -> [UInt8] {
        let source = try FileSource(path: path)
        var bytes: [UInt8] = []
        while bytes.count < count {
            let chunk = try source.read(upTo: count - bytes.count)
            if chunk.isEmpty { break }
            bytes += chunk
        }
        return bytes
    }
}
