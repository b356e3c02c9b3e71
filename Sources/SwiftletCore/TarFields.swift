/// Parsing of tar header fields, shared by the code-bundle reader and the image-layer reader.
/// Pure functions over bytes; each reader turns a ``Problem`` into its own user-facing error.
public enum TarFields {
    /// Why a field could not be read.
    public enum Problem: String, Error, Sendable {
        case negative = "a numeric field is negative"
        case overflow = "a numeric field overflows"
        case notOctal = "a numeric field is not octal"
        case badPaxRecord = "a pax header record is malformed"
    }

    /// A NUL-terminated string.
    public static func string(_ data: ArraySlice<UInt8>) -> String {
        let end = data.firstIndex(of: 0) ?? data.endIndex
        return String(decoding: data[data.startIndex..<end], as: UTF8.self)
    }

    /// A numeric field: octal digits (spaces and NULs around them), or GNU base-256 binary.
    public static func number(_ field: ArraySlice<UInt8>) throws(Problem) -> Int64 {
        if let first = field.first, first & 0x80 != 0 {
            guard first & 0x40 == 0 else { throw .negative }
            var value = Int64(first & 0x3F)
            for byte in field.dropFirst() {
                guard value < (Int64.max >> 8) else { throw .overflow }
                value = value << 8 | Int64(byte)
            }
            return value
        }
        var value: Int64 = 0
        var seenDigit = false
        for byte in field {
            if byte == 0 || byte == UInt8(ascii: " ") {
                if seenDigit { break } else { continue }
            }
            guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "7") else { throw .notOctal }
            guard value < (Int64.max >> 3) else { throw .overflow }
            value = value * 8 + Int64(byte - UInt8(ascii: "0"))
            seenDigit = true
        }
        return value
    }

    /// Whether a 512-byte header's stored checksum matches its bytes (unsigned or, as some old
    /// tars wrote it, signed).
    public static func checksumMatches(_ header: ArraySlice<UInt8>) -> Bool {
        let start = header.startIndex
        var stored = 0
        for byte in header[(start + 148)..<(start + 156)] where byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "7") {
            stored = stored * 8 + Int(byte - UInt8(ascii: "0"))
        }
        var unsigned = 0
        var signed = 0
        for (i, byte) in header.enumerated() {
            let value = (148..<156).contains(i) ? UInt8(ascii: " ") : byte
            unsigned += Int(value)
            signed += Int(Int8(bitPattern: value))
        }
        return stored == unsigned || stored == signed
    }

    /// The `key=value` records of a pax extended header (`"<length> <key>=<value>\n"` each).
    public static func paxRecords(_ data: ArraySlice<UInt8>) throws(Problem) -> [String: String] {
        var records: [String: String] = [:]
        var rest = data
        while !rest.isEmpty {
            if rest.allSatisfy({ $0 == 0 }) { break }
            guard let space = rest.firstIndex(of: UInt8(ascii: " ")),
                let length = Int(String(decoding: rest[rest.startIndex..<space], as: UTF8.self)),
                // The length covers at least the digits, the space and the newline.
                length > rest.distance(from: rest.startIndex, to: space) + 1, length <= rest.count,
                rest[rest.startIndex + length - 1] == UInt8(ascii: "\n")
            else { throw .badPaxRecord }
            let record = rest[rest.index(after: space)..<rest.startIndex + length - 1]
            if let eq = record.firstIndex(of: UInt8(ascii: "=")) {
                records[String(decoding: record[record.startIndex..<eq], as: UTF8.self)] =
                    String(decoding: record[record.index(after: eq)...], as: UTF8.self)
            }
            rest = rest[(rest.startIndex + length)...]
        }
        return records
    }
}
