import CompressNIO
import Foundation
import NIOCore
import Testing

/// Builds tar archives byte by byte, so tests can craft exactly the (hostile) entries they need.
struct TarBuilder {
    private(set) var bytes: [UInt8] = []

    /// One 512-byte ustar header with a correct checksum (unless `checksumDelta` is not zero).
    static func header(
        name: String, type: UInt8, mode: Int = 0o644, size: Int = 0, link: String = "", prefix: String = "",
        sizeField: [UInt8]? = nil, magic: String = "ustar", checksumDelta: Int = 0
    ) -> [UInt8] {
        var h = [UInt8](repeating: 0, count: 512)
        func put(_ text: String, at offset: Int, length: Int) {
            let utf8 = Array(text.utf8)
            precondition(utf8.count <= length, "\(text) does not fit in \(length) bytes")
            h.replaceSubrange(offset..<offset + utf8.count, with: utf8)
        }
        func octal(_ value: Int, at offset: Int, length: Int) {
            let digits = String(value, radix: 8)
            put(String(repeating: "0", count: length - 1 - digits.count) + digits, at: offset, length: length - 1)
        }
        put(name, at: 0, length: 100)
        octal(mode, at: 100, length: 8)
        octal(1000, at: 108, length: 8)
        octal(1000, at: 116, length: 8)
        if let sizeField {
            h.replaceSubrange(124..<136, with: sizeField)
        } else {
            octal(size, at: 124, length: 12)
        }
        octal(1_700_000_000, at: 136, length: 12)
        h[156] = type
        put(link, at: 157, length: 100)
        put(magic, at: 257, length: 6)
        put("00", at: 263, length: 2)
        put("user", at: 265, length: 32)
        put("user", at: 297, length: 32)
        put(prefix, at: 345, length: 155)
        // Checksum: the sum of all bytes with the checksum field read as spaces.
        h.replaceSubrange(148..<156, with: [UInt8](repeating: 0x20, count: 8))
        let sum = h.reduce(0) { $0 + Int($1) } + checksumDelta
        let digits = String(sum, radix: 8)
        put(String(repeating: "0", count: 6 - digits.count) + digits, at: 148, length: 6)
        h[154] = 0
        h[155] = 0x20
        return h
    }

    /// Appends raw bytes (a header built by hand, say).
    mutating func raw(_ data: [UInt8]) {
        bytes += data
    }

    /// Appends `data` padded to a 512-byte block.
    mutating func data(_ data: [UInt8]) {
        bytes += data
        let pad = (512 - data.count % 512) % 512
        bytes += [UInt8](repeating: 0, count: pad)
    }

    mutating func file(_ name: String, _ contents: String, mode: Int = 0o644, prefix: String = "") {
        file(name, Array(contents.utf8), mode: mode, prefix: prefix)
    }

    mutating func file(_ name: String, _ contents: [UInt8], mode: Int = 0o644, prefix: String = "") {
        bytes += Self.header(name: name, type: UInt8(ascii: "0"), mode: mode, size: contents.count, prefix: prefix)
        data(contents)
    }

    mutating func directory(_ name: String, mode: Int = 0o755) {
        bytes += Self.header(name: name, type: UInt8(ascii: "5"), mode: mode)
    }

    mutating func symlink(_ name: String, to target: String) {
        bytes += Self.header(name: name, type: UInt8(ascii: "2"), mode: 0o777, link: target)
    }

    mutating func hardlink(_ name: String, to target: String) {
        bytes += Self.header(name: name, type: UInt8(ascii: "1"), link: target)
    }

    /// An entry of another type: '3' character device, '4' block device, '6' FIFO…
    mutating func special(_ name: String, type: Character) {
        bytes += Self.header(name: name, type: type.asciiValue!, mode: 0o666)
    }

    /// A GNU long name ('L') or long link ('K') record for the next entry.
    mutating func gnuLong(_ type: Character, _ value: String) {
        let payload = Array(value.utf8) + [0]
        bytes += Self.header(name: "././@LongLink", type: type.asciiValue!, size: payload.count)
        data(payload)
    }

    /// A pax extended header ('x', or 'g' for global) for the next entry.
    mutating func pax(_ records: [(String, String)], type: Character = "x") {
        var payload: [UInt8] = []
        for (key, value) in records {
            payload += Self.paxRecord(key, value)
        }
        paxRaw(payload, type: type)
    }

    mutating func paxRaw(_ payload: [UInt8], type: Character = "x") {
        bytes += Self.header(name: "PaxHeaders/x", type: type.asciiValue!, size: payload.count)
        data(payload)
    }

    /// `"<len> key=value\n"` where len counts itself.
    static func paxRecord(_ key: String, _ value: String) -> [UInt8] {
        let body = " \(key)=\(value)\n"
        var length = body.utf8.count + 1
        while "\(length)\(body)".utf8.count != length { length += 1 }
        return Array("\(length)\(body)".utf8)
    }

    /// The archive with its two zero end blocks.
    func finished() -> [UInt8] {
        bytes + [UInt8](repeating: 0, count: 1024)
    }

    /// The archive, gzip'd.
    func gzipped() throws -> Data {
        try gzip(finished())
    }
}

func gzip(_ bytes: [UInt8]) throws -> Data {
    var buffer = ByteBuffer(bytes: bytes)
    let compressed = try buffer.compress(with: .gzip())
    return Data(compressed.readableBytesView)
}

/// A unique temporary directory, removed when `body` returns or throws.
func withTemporaryDirectory<T>(_ body: (String) throws -> T) throws -> T {
    let path = FileManager.default.temporaryDirectory.appendingPathComponent("swiftlet-sandbox-tests-\(UUID().uuidString)").path
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: path) }
    return try body(path)
}

/// Runs a program and fails unless it exits 0.
func run(_ executable: String, _ arguments: [String]) throws {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    try process.run()
    process.waitUntilExit()
    guard process.terminationStatus == 0 else {
        throw CommandFailed(description: "\(executable) \(arguments) exited with \(process.terminationStatus)")
    }
}

struct CommandFailed: Error, CustomStringConvertible {
    var description: String
}

/// The names in a directory, sorted.
func listing(_ directory: String) -> [String] {
    ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []).sorted()
}

/// The permission bits of a file (not following symlinks).
func permissions(_ path: String) throws -> Int {
    let attributes = try FileManager.default.attributesOfItem(atPath: path)
    return try #require(attributes[.posixPermissions] as? Int)
}
