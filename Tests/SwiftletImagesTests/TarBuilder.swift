import CompressNIO
import Foundation
import NIOCore

/// Builds tar archives byte by byte (ustar headers, pax records for long names), so tests can
/// craft exactly the entries they need, hostile ones included.
struct TarBuilder {
    private(set) var bytes: [UInt8] = []

    /// A regular file.
    mutating func file(_ path: String, _ contents: String, mode: Int = 0o644) {
        file(path, Array(contents.utf8), mode: mode)
    }

    /// A regular file.
    mutating func file(_ path: String, _ contents: [UInt8], mode: Int = 0o644) {
        entry(path, type: "0", mode: mode, size: contents.count)
        bytes += contents
        pad()
    }

    /// A directory.
    mutating func directory(_ path: String, mode: Int = 0o755) {
        entry(path, type: "5", mode: mode)
    }

    /// A symlink with any target text.
    mutating func symlink(_ path: String, to target: String) {
        entry(path, type: "2", mode: 0o777, link: target)
    }

    /// A hard link to an earlier entry.
    mutating func hardlink(_ path: String, to target: String) {
        entry(path, type: "1", mode: 0o644, link: target)
    }

    /// A character device (like /dev/null).
    mutating func characterDevice(_ path: String) {
        entry(path, type: "3", mode: 0o666)
    }

    /// A FIFO.
    mutating func fifo(_ path: String) {
        entry(path, type: "6", mode: 0o644)
    }

    /// The archive with its two zero end blocks.
    var finished: [UInt8] { bytes + [UInt8](repeating: 0, count: 1024) }

    private mutating func entry(_ path: String, type: Character, mode: Int, size: Int = 0, link: String = "") {
        if path.utf8.count > 100 || link.utf8.count > 100 {
            var records: [UInt8] = []
            if path.utf8.count > 100 { records += Self.paxRecord("path", path) }
            if link.utf8.count > 100 { records += Self.paxRecord("linkpath", link) }
            bytes += Self.header(name: "PaxHeaders/x", type: "x", mode: 0o644, size: records.count, link: "")
            bytes += records
            pad()
        }
        bytes += Self.header(name: String(path.utf8.prefix(100))!, type: type, mode: mode, size: size, link: String(link.utf8.prefix(100))!)
    }

    private mutating func pad() {
        bytes += [UInt8](repeating: 0, count: (512 - bytes.count % 512) % 512)
    }

    private static func paxRecord(_ key: String, _ value: String) -> [UInt8] {
        let body = " \(key)=\(value)\n"
        var length = body.utf8.count + 1
        while String(length).count + body.utf8.count != length { length += 1 }
        return Array("\(length)\(body)".utf8)
    }

    static func header(name: String, type: Character, mode: Int, size: Int, link: String) -> [UInt8] {
        var header = [UInt8](repeating: 0, count: 512)
        func put(_ text: String, at offset: Int) {
            for (i, byte) in text.utf8.enumerated() { header[offset + i] = byte }
        }
        func octal(_ value: Int, width: Int) -> String {
            let digits = String(value, radix: 8)
            return String(repeating: "0", count: max(0, width - 1 - digits.count)) + digits
        }
        put(name, at: 0)
        put(octal(mode, width: 8), at: 100)
        put(octal(0, width: 8), at: 108)
        put(octal(0, width: 8), at: 116)
        put(octal(size, width: 12), at: 124)
        put(octal(1_700_000_000, width: 12), at: 136)
        put("        ", at: 148)
        header[156] = type.asciiValue!
        put(link, at: 157)
        put("ustar\u{0}00", at: 257)
        put("root", at: 265)
        put("root", at: 297)
        let sum = header.reduce(0) { $0 + Int($1) }
        put(octal(sum, width: 7) + "\u{0} ", at: 148)
        return header
    }
}

/// gzip-compresses `bytes` with CompressNIO.
func gzip(_ bytes: [UInt8]) throws -> [UInt8] {
    var buffer = ByteBuffer(bytes: bytes)
    let compressed = try buffer.compress(with: .gzip())
    return Array(compressed.readableBytesView)
}
