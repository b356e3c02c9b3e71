import NIOCore

/// Splits the engine's multiplexed log stream (a container without a TTY) into lines: each frame
/// is an 8-byte header (stream 1 stdout or 2 stderr, 3 zero bytes, big-endian length) and its
/// payload; lines may span frames and frames may span chunks.
public struct DockerLogStream: Sendable {
    /// Which stream a line came from.
    public enum Stream: Sendable, Equatable {
        case stdout, stderr
    }

    /// The longest line kept; the rest of a longer line is cut.
    public static let maxLine = 64 * 1024
    /// The largest frame accepted (the engine's are at most a few KiB).
    public static let maxFrame: UInt32 = 1024 * 1024

    private var pending = ByteBuffer()
    private var partial: [Stream: [UInt8]] = [:]

    /// Creates an empty demultiplexer.
    public init() {}

    /// Adds `chunk` and returns the lines it completes.
    public mutating func feed(_ chunk: ByteBuffer) -> [(Stream, String)] {
        var chunk = chunk
        pending.writeBuffer(&chunk)
        var lines: [(Stream, String)] = []
        while pending.readableBytes >= 8 {
            let start = pending.readerIndex
            guard let kind = pending.getInteger(at: start, as: UInt8.self),
                let length = pending.getInteger(at: start + 4, endianness: .big, as: UInt32.self)
            else { break }
            // The engine frames its output in small pieces; a length this large is a corrupt stream:
            // drop what is buffered rather than grow without bound.
            guard length <= Self.maxFrame else {
                pending.clear()
                break
            }
            guard pending.readableBytes >= 8 + Int(length) else { break }
            pending.moveReaderIndex(forwardBy: 8)
            let payload = pending.readBytes(length: Int(length)) ?? []
            let stream: Stream = kind == 2 ? .stderr : .stdout
            var buffer = partial[stream] ?? []
            for byte in payload {
                if byte == UInt8(ascii: "\n") {
                    lines.append((stream, Self.text(buffer)))
                    buffer.removeAll(keepingCapacity: true)
                } else if buffer.count < Self.maxLine {
                    buffer.append(byte)
                }
            }
            partial[stream] = buffer
        }
        pending.discardReadBytes()
        return lines
    }

    /// The unterminated last lines, when the stream ends.
    public mutating func finish() -> [(Stream, String)] {
        defer {
            partial = [:]
            pending.clear()
        }
        return [Stream.stdout, .stderr].compactMap { stream in
            guard let buffer = partial[stream], !buffer.isEmpty else { return nil }
            return (stream, Self.text(buffer))
        }
    }

    private static func text(_ bytes: [UInt8]) -> String {
        var text = String(decoding: bytes, as: UTF8.self)
        if text.hasSuffix("\r") { text.removeLast() }
        return text
    }
}
