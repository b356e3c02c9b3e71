import SwiftletCore

/// Reads the entries of a tar archive (ustar, GNU long names, pax `path`/`linkpath`/`size`) from
/// memory. It only parses; deciding what is safe to write is ``CodeBundle``'s job.
struct TarReader {
    /// One entry of the archive.
    struct Entry {
        enum Kind: Equatable {
            case file, directory, symlink, hardlink, other(UInt8)
        }
        var path: String
        var kind: Kind
        var mode: Int
        var linkTarget: String
        /// The contents of a regular file.
        var contents: ArraySlice<UInt8>
    }

    private let bytes: [UInt8]
    private var offset = 0

    init(bytes: [UInt8]) {
        self.bytes = bytes
    }

    /// The next entry, or nil at the end of the archive.
    mutating func next() throws(SwiftletError) -> Entry? {
        var longName: String?
        var longLink: String?
        var paxSize: Int?
        while true {
            guard offset + 512 <= bytes.count else {
                if offset >= bytes.count { return nil }
                throw Self.corrupt("the archive ends in the middle of a header")
            }
            let header = bytes[offset..<offset + 512]
            if header.allSatisfy({ $0 == 0 }) { return nil }
            try Self.verifyChecksum(header)
            let type = header[header.startIndex + 156]
            var size = try Self.number(header, at: 124, length: 12)
            if let paxSize { size = paxSize }
            let dataStart = offset + 512
            // Compared by subtraction: a hostile size near Int.max must not overflow.
            guard size >= 0, size <= bytes.count - dataStart else {
                throw Self.corrupt("an entry claims \(size) bytes but the archive is shorter")
            }
            let data = bytes[dataStart..<dataStart + size]
            offset = dataStart + (size + 511) / 512 * 512

            switch type {
            case UInt8(ascii: "L"):
                longName = Self.string(data)
                continue
            case UInt8(ascii: "K"):
                longLink = Self.string(data)
                continue
            case UInt8(ascii: "x"):
                let records = try Self.paxRecords(data)
                longName = records["path"] ?? longName
                longLink = records["linkpath"] ?? longLink
                if let s = records["size"] {
                    guard let n = Int(s), n >= 0 else { throw Self.corrupt("a pax header has an invalid size") }
                    paxSize = n
                }
                continue
            case UInt8(ascii: "g"):
                continue
            default:
                break
            }

            var path = longName ?? Self.field(header, at: 0, length: 100)
            if longName == nil, header[header.startIndex + 257..<header.startIndex + 262].elementsEqual("ustar".utf8) {
                let prefix = Self.field(header, at: 345, length: 155)
                if !prefix.isEmpty { path = prefix + "/" + path }
            }
            let kind: Entry.Kind
            switch type {
            case 0, UInt8(ascii: "0"), UInt8(ascii: "7"): kind = .file
            case UInt8(ascii: "5"): kind = .directory
            case UInt8(ascii: "2"): kind = .symlink
            case UInt8(ascii: "1"): kind = .hardlink
            default: kind = .other(type)
            }
            return Entry(
                path: path, kind: kind, mode: try Self.number(header, at: 100, length: 8),
                linkTarget: longLink ?? Self.field(header, at: 157, length: 100),
                contents: kind == .file ? data : []
            )
        }
    }

    private static func corrupt(_ what: String) -> SwiftletError {
        SwiftletError(.invalidInput, "the code bundle is not a valid tar archive (\(what)); create it with `tar -czf bundle.tar.gz -C DIR .`")
    }

    private static func field(_ header: ArraySlice<UInt8>, at offset: Int, length: Int) -> String {
        let start = header.startIndex + offset
        let slice = header[start..<start + length]
        let end = slice.firstIndex(of: 0) ?? slice.endIndex
        return String(decoding: slice[start..<end], as: UTF8.self)
    }

    private static func string(_ data: ArraySlice<UInt8>) -> String {
        TarFields.string(data)
    }

    private static func number(_ header: ArraySlice<UInt8>, at offset: Int, length: Int) throws(SwiftletError) -> Int {
        let start = header.startIndex + offset
        let value: Int64
        do {
            value = try TarFields.number(header[start..<start + length])
        } catch {
            throw corrupt(error.rawValue)
        }
        return Int(value)
    }

    private static func verifyChecksum(_ header: ArraySlice<UInt8>) throws(SwiftletError) {
        guard TarFields.checksumMatches(header) else { throw corrupt("a header checksum does not match") }
    }

    private static func paxRecords(_ data: ArraySlice<UInt8>) throws(SwiftletError) -> [String: String] {
        do {
            return try TarFields.paxRecords(data)
        } catch {
            throw corrupt(error.rawValue)
        }
    }
}
