import NIOCore
import Testing

import SwiftletDocker

/// One demultiplexed line, comparable in expectations.
private struct Line: Equatable, CustomStringConvertible {
    var stream: DockerLogStream.Stream
    var text: String

    static func out(_ text: String) -> Line { Line(stream: .stdout, text: text) }
    static func err(_ text: String) -> Line { Line(stream: .stderr, text: text) }

    var description: String { "\(stream == .stdout ? "out" : "err"):\(text.debugDescription)" }
}

/// A frame as the engine writes it: the stream byte, three zero bytes, the big-endian length, the payload.
private func frame(_ stream: UInt8, _ payload: [UInt8]) -> [UInt8] {
    let length = UInt32(payload.count)
    return [stream, 0, 0, 0, UInt8(length >> 24), UInt8((length >> 16) & 0xFF), UInt8((length >> 8) & 0xFF), UInt8(length & 0xFF)] + payload
}

private func frame(_ stream: UInt8, _ payload: String) -> [UInt8] { frame(stream, Array(payload.utf8)) }

extension DockerLogStream {
    /// Feeds `bytes` as one chunk.
    fileprivate mutating func feed(bytes: [UInt8]) -> [Line] {
        feed(ByteBuffer(bytes: bytes)).map { Line(stream: $0.0, text: $0.1) }
    }

    /// Feeds `bytes` in chunks of `size` bytes, then finishes.
    fileprivate mutating func feedAll(_ bytes: [UInt8], chunkSize size: Int) -> [Line] {
        var lines: [Line] = []
        var start = 0
        while start < bytes.count {
            let end = min(start + size, bytes.count)
            lines += feed(bytes: Array(bytes[start..<end]))
            start = end
        }
        return lines + finishLines()
    }

    fileprivate mutating func finishLines() -> [Line] {
        finish().map { Line(stream: $0.0, text: $0.1) }
    }
}

@Suite struct DockerLogStreamTests {
    @Test func stdoutAndStderrFrames() {
        var stream = DockerLogStream()
        let lines = stream.feed(bytes: frame(1, "hello\n") + frame(2, "oops\n"))
        #expect(lines == [.out("hello"), .err("oops")])
        #expect(stream.finishLines().isEmpty)
    }

    @Test func lineSplitAcrossFrames() {
        var stream = DockerLogStream()
        #expect(stream.feed(bytes: frame(1, "hel")).isEmpty)
        #expect(stream.feed(bytes: frame(1, "lo wor")).isEmpty)
        #expect(stream.feed(bytes: frame(1, "ld\n")) == [.out("hello world")])
        #expect(stream.finishLines().isEmpty)
    }

    @Test func frameSplitAcrossChunksAtEveryOffset() {
        let bytes = frame(1, "first\nsec") + frame(2, "err\n") + frame(1, "ond\n")
        let expected: [Line] = [.out("first"), .err("err"), .out("second")]
        for split in 1..<bytes.count {
            var stream = DockerLogStream()
            let lines = stream.feed(bytes: Array(bytes[..<split])) + stream.feed(bytes: Array(bytes[split...])) + stream.finishLines()
            #expect(lines == expected, "split at \(split)")
        }
    }

    @Test func oneByteAtATime() {
        let bytes = frame(1, "alpha\nbe") + frame(2, "warn") + frame(1, "ta\r\n") + frame(2, "ing\n") + frame(1, "tail")
        var whole = DockerLogStream()
        let atOnce = whole.feedAll(bytes, chunkSize: bytes.count)
        var trickle = DockerLogStream()
        let byteByByte = trickle.feedAll(bytes, chunkSize: 1)
        #expect(atOnce == [.out("alpha"), .out("beta"), .err("warning"), .out("tail")])
        #expect(byteByByte == atOnce)
    }

    @Test func manyLinesInOneFrameKeepEmptyLines() {
        var stream = DockerLogStream()
        #expect(stream.feed(bytes: frame(1, "a\nb\n\nc\n")) == [.out("a"), .out("b"), .out(""), .out("c")])
    }

    @Test func crlfIsStripped() {
        var stream = DockerLogStream()
        #expect(stream.feed(bytes: frame(1, "windows\r\nunix\n")) == [.out("windows"), .out("unix")])
        // A CR inside a line stays; only the one before the newline goes.
        #expect(stream.feed(bytes: frame(2, "a\rb\r\n")) == [.err("a\rb")])
        // CR and LF in different frames.
        #expect(stream.feed(bytes: frame(1, "split\r")).isEmpty)
        #expect(stream.feed(bytes: frame(1, "\n")) == [.out("split")])
    }

    @Test func multiByteCharacterSplitAcrossFrames() {
        let bytes = Array("héllo ✓\n".utf8)
        var stream = DockerLogStream()
        #expect(stream.feed(bytes: frame(1, Array(bytes[..<2]))).isEmpty)
        #expect(stream.feed(bytes: frame(1, Array(bytes[2..<8]))).isEmpty)
        #expect(stream.feed(bytes: frame(1, Array(bytes[8...]))) == [.out("héllo ✓")])
    }

    @Test func finishReturnsThePartialLastLines() {
        var stream = DockerLogStream()
        #expect(stream.feed(bytes: frame(2, "err tail") + frame(1, "done\nout tail\r")) == [.out("done")])
        // stdout first, then stderr; the CR of an unterminated line goes too.
        #expect(stream.finishLines() == [.out("out tail"), .err("err tail")])
        #expect(stream.finishLines().isEmpty)
    }

    @Test func longLineIsCut() throws {
        let max = DockerLogStream.maxLine
        var stream = DockerLogStream()
        let long = String(repeating: "a", count: max + 1000)
        let lines = stream.feed(bytes: frame(1, long + "\nnext\n"))
        try #require(lines.count == 2)
        #expect(lines.first?.text.utf8.count == max)
        #expect(lines.first?.text == String(repeating: "a", count: max))
        #expect(lines.last == .out("next"))
    }

    @Test func longLineOverManyFramesIsCut() {
        let max = DockerLogStream.maxLine
        var stream = DockerLogStream()
        var lines: [Line] = []
        for _ in 0..<5 {
            lines += stream.feed(bytes: frame(2, String(repeating: "b", count: max / 2)))
        }
        #expect(lines.isEmpty)
        lines += stream.feed(bytes: frame(2, "end\nafter\n"))
        #expect(lines == [.err(String(repeating: "b", count: max)), .err("after")])
        // An unterminated long line is cut in finish() as well.
        _ = stream.feed(bytes: frame(1, String(repeating: "c", count: max + 10)))
        #expect(stream.finishLines() == [.out(String(repeating: "c", count: max))])
    }

    @Test func interleavedPartialLinesStayApart() {
        var stream = DockerLogStream()
        let bytes = frame(1, "out-") + frame(2, "err-") + frame(1, "one") + frame(2, "one\nerr-two") + frame(1, "\nout-two")
        #expect(stream.feed(bytes: bytes) == [.err("err-one"), .out("out-one")])
        #expect(stream.feed(bytes: frame(2, "\n") + frame(1, "\n")) == [.err("err-two"), .out("out-two")])
        #expect(stream.finishLines().isEmpty)
    }

    @Test func emptyFrames() {
        var stream = DockerLogStream()
        #expect(stream.feed(bytes: frame(1, [UInt8]())).isEmpty)
        #expect(stream.feed(bytes: frame(1, "a") + frame(1, [UInt8]()) + frame(2, [UInt8]()) + frame(1, "b\n")) == [.out("ab")])
        #expect(stream.finishLines().isEmpty)
    }

    @Test func hugeLengthIsDroppedAndTheNextChunkResyncs() {
        var stream = DockerLogStream()
        // Claims 4 GiB: a corrupt stream. What is buffered is dropped instead of growing without bound.
        #expect(stream.feed(bytes: [1, 0, 0, 0, 0xFF, 0xFF, 0xFF, 0xFF] + Array("not a line\n".utf8)).isEmpty)
        // A later chunk that starts with a well-formed frame is read again.
        #expect(stream.feed(bytes: frame(1, "after\n")) == [.out("after")])
        #expect(stream.finishLines().isEmpty)
    }

    @Test func lengthJustOverTheCapIsRefused() {
        var stream = DockerLogStream()
        let over = DockerLogStream.maxFrame + 1
        let header: [UInt8] = [1, 0, 0, 0, UInt8(over >> 24), UInt8((over >> 16) & 0xFF), UInt8((over >> 8) & 0xFF), UInt8(over & 0xFF)]
        #expect(stream.feed(bytes: header + [UInt8](repeating: 0x41, count: 4096)).isEmpty)
        #expect(stream.finishLines().isEmpty)
    }

    @Test func garbageHeadersDoNotCrash() {
        var stream = DockerLogStream()
        let garbage: [[UInt8]] = [
            [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF],
            [0x7F, 0x45, 0x4C, 0x46, 0x80, 0x00, 0x00, 0x00],
            Array("HTTP/1.1 500 Internal Server Error\r\n".utf8),
        ]
        for bytes in garbage {
            #expect(stream.feed(bytes: bytes).isEmpty)
        }
        #expect(stream.finishLines().isEmpty)
    }
}
