import SwiftletCore

/// Reads a tar stream (ustar, GNU long names, pax `path`/`linkpath`/`size`) header by header from
/// a ``ByteSource``, never holding more than one chunk of file contents in memory. It only
/// parses; deciding what is safe to write is the caller's job.
final class TarStreamReader {
    /// One entry's header.
    struct Header {
        enum Kind: Equatable {
            case file, directory, symlink, hardlink, characterDevice, blockDevice, fifo
            case other(UInt8)
        }
        var path: String
        var kind: Kind
        var mode: Int
        var linkTarget: String
        /// The bytes of content that follow (regular files only).
        var size: Int64
    }

    private let source: any ByteSource
    private let what: String
    private var buffer: [UInt8] = []
    private var position = 0
    /// Content bytes of the current entry not read yet, and the padding after them.
    private var remaining: Int64 = 0
    private var padding = 0
    private var ended = false
    /// The most bytes a pax or GNU long-name record may have.
    static let maxMetadata = 1024 * 1024

    /// Reads `source`; `what` names it in errors ("the layer sha256:…").
    init(source: any ByteSource, what: String) {
        self.source = source
        self.what = what
    }

    /// The next header, or nil at the end of the archive. Unread content of the previous entry is skipped.
    func next() throws(SwiftletError) -> Header? {
        guard !ended else { return nil }
        try skip(remaining + Int64(padding))
        remaining = 0
        padding = 0
        var longName: String?
        var longLink: String?
        var paxSize: Int64?
        while true {
            guard let header = try readBlock() else {
                if longName != nil || longLink != nil || paxSize != nil { throw corrupt("the archive ends after an extended header") }
                ended = true
                return nil
            }
            if header.allSatisfy({ $0 == 0 }) {
                // End of archive: a second zero block (or nothing) must follow.
                if let second = try readBlock(), !second.allSatisfy({ $0 == 0 }) {
                    throw corrupt("a zero block is followed by data")
                }
                ended = true
                return nil
            }
            try Self.verifyChecksum(header, what: what)
            let type = header[156]
            var size = try number(header, at: 124, length: 12)
            if let paxSize { size = paxSize }
            guard size >= 0 else { throw corrupt("an entry has a negative size") }
            switch type {
            case UInt8(ascii: "L"), UInt8(ascii: "K"), UInt8(ascii: "x"), UInt8(ascii: "g"):
                guard size <= Self.maxMetadata else { throw corrupt("an extended header is larger than \(Self.maxMetadata) bytes") }
                let data = try readExactly(Int(size))
                try skip(Int64(Self.padding(for: size)))
                if type == UInt8(ascii: "L") {
                    longName = Self.string(data[...])
                } else if type == UInt8(ascii: "K") {
                    longLink = Self.string(data[...])
                } else if type == UInt8(ascii: "x") {
                    let records = try paxRecords(data[...])
                    longName = records["path"] ?? longName
                    longLink = records["linkpath"] ?? longLink
                    if let text = records["size"] {
                        guard let value = Int64(text), value >= 0 else { throw corrupt("a pax header has an invalid size") }
                        paxSize = value
                    }
                }
                continue
            default:
                break
            }
            var path = longName ?? Self.field(header, at: 0, length: 100)
            if longName == nil, header[257..<262].elementsEqual("ustar".utf8) {
                let prefix = Self.field(header, at: 345, length: 155)
                if !prefix.isEmpty { path = prefix + "/" + path }
            }
            let kind: Header.Kind
            switch type {
            case 0, UInt8(ascii: "0"), UInt8(ascii: "7"): kind = .file
            case UInt8(ascii: "1"): kind = .hardlink
            case UInt8(ascii: "2"): kind = .symlink
            case UInt8(ascii: "3"): kind = .characterDevice
            case UInt8(ascii: "4"): kind = .blockDevice
            case UInt8(ascii: "5"): kind = .directory
            case UInt8(ascii: "6"): kind = .fifo
            default: kind = .other(type)
            }
            // Links, directories, devices and FIFOs carry no data whatever their size field says (as in Go's
            // archive/tar); files and unknown types do.
            let contentSize = "123456".utf8.contains(type) ? 0 : size
            remaining = contentSize
            padding = Self.padding(for: contentSize)
            return Header(
                path: path, kind: kind, mode: Int(try number(header, at: 100, length: 8)),
                linkTarget: longLink ?? Self.field(header, at: 157, length: 100), size: kind == .file ? size : 0
            )
        }
    }

    /// The next bytes of the current entry's content, at most `count`; empty when it is all read.
    func readContent(upTo count: Int) throws(SwiftletError) -> ArraySlice<UInt8> {
        guard remaining > 0 else { return [] }
        if position == buffer.count {
            buffer = try source.read(upTo: Int(min(Int64(max(count, 512)), remaining + Int64(padding))))
            position = 0
            guard !buffer.isEmpty else { throw corrupt("the archive ends in the middle of an entry") }
        }
        let take = Int(min(Int64(min(count, buffer.count - position)), remaining))
        defer {
            position += take
            remaining -= Int64(take)
        }
        return buffer[position..<position + take]
    }

    /// Reads the rest of the stream after the end of the archive (trailing padding) and discards it.
    func drainTrailing(limit: Int64) throws(SwiftletError) {
        position = buffer.count
        try source.drain(limit: limit, what: what)
    }

    private func readBlock() throws(SwiftletError) -> [UInt8]? {
        if position == buffer.count {
            buffer = try source.read(upTo: 64 * 1024)
            position = 0
            if buffer.isEmpty { return nil }
        }
        return try readExactly(512)
    }

    private func readExactly(_ count: Int) throws(SwiftletError) -> [UInt8] {
        var result: [UInt8] = []
        result.reserveCapacity(count)
        while result.count < count {
            if position == buffer.count {
                buffer = try source.read(upTo: max(64 * 1024, count - result.count))
                position = 0
                guard !buffer.isEmpty else { throw corrupt("the archive ends in the middle of a header") }
            }
            let take = min(count - result.count, buffer.count - position)
            result += buffer[position..<position + take]
            position += take
        }
        return result
    }

    private func skip(_ count: Int64) throws(SwiftletError) {
        var left = count
        while left > 0 {
            if position == buffer.count {
                buffer = try source.read(upTo: Int(min(left, 256 * 1024)))
                position = 0
                guard !buffer.isEmpty else { throw corrupt("the archive ends in the middle of an entry") }
            }
            let take = Int(min(left, Int64(buffer.count - position)))
            position += take
            left -= Int64(take)
        }
    }

    private static func padding(for size: Int64) -> Int {
        Int((512 - size % 512) % 512)
    }

    private func corrupt(_ why: String) -> SwiftletError {
        SwiftletError(.invalidInput, "\(what) is not a valid tar archive (\(why)); export or push the image again")
    }

    private static func field(_ header: [UInt8], at offset: Int, length: Int) -> String {
        string(header[offset..<offset + length])
    }

    private static func string(_ data: ArraySlice<UInt8>) -> String {
        TarFields.string(data)
    }

    private func number(_ header: [UInt8], at offset: Int, length: Int) throws(SwiftletError) -> Int64 {
        do {
            return try TarFields.number(header[offset..<offset + length])
        } catch {
            throw corrupt(error.rawValue)
        }
    }

    private static func verifyChecksum(_ header: [UInt8], what: String) throws(SwiftletError) {
        guard TarFields.checksumMatches(header[...]) else {
            throw SwiftletError(
                .invalidInput,
                "\(what) is not a valid tar archive (a header checksum does not match); export or push the image again"
            )
        }
    }

    private func paxRecords(_ data: ArraySlice<UInt8>) throws(SwiftletError) -> [String: String] {
        do {
            return try TarFields.paxRecords(data)
        } catch {
            throw corrupt(error.rawValue)
        }
    }
}
