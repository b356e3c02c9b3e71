import CompressNIO
import NIOCore
import SwiftletCore

/// Decompresses a gzip stream chunk by chunk: memory stays bounded by one input chunk and one
/// output window however large the layer is. Concatenated gzip members (as `pigz` and Go write
/// them) are read as one stream; a truncated or corrupt stream throws `.invalidInput`.
final class GzipSource: ByteSource {
    private let upstream: any ByteSource
    private let decompressor: ZlibDecompressor
    private let what: String
    private var input = ByteBuffer()
    private var upstreamDone = false
    private var finished = false
    private static let inputChunk = 64 * 1024
    private static let window = 256 * 1024

    /// Decompresses `upstream`; `what` names it in errors ("the layer sha256:…").
    init(_ upstream: any ByteSource, what: String) throws(SwiftletError) {
        self.upstream = upstream
        self.what = what
        do {
            decompressor = try ZlibDecompressor(algorithm: .gzip)
        } catch {
            throw SwiftletError(.internal, "cannot start a gzip decompressor; check free memory", cause: error)
        }
    }

    func read(upTo count: Int) throws(SwiftletError) -> [UInt8] {
        while !finished {
            if input.readableBytes == 0 && !upstreamDone {
                let chunk = try upstream.read(upTo: Self.inputChunk)
                if chunk.isEmpty {
                    upstreamDone = true
                } else {
                    input.clear()
                    input.writeBytes(chunk)
                }
            }
            var output = ByteBufferAllocator().buffer(capacity: max(1, min(count, Self.window)))
            let before = input.readableBytes
            var outputFull = false
            var needsInput = false
            do {
                try decompressor.inflate(from: &input, to: &output)
            } catch let error as CompressNIOError where error == .bufferOverflow {
                outputFull = true
            } catch let error as CompressNIOError where error == .inputBufferOverflow {
                needsInput = true
            } catch {
                throw SwiftletError(
                    .invalidInput,
                    "\(what) is not valid gzip data (\(error)); the blob is corrupt, import or pull the image again"
                )
            }
            if output.readableBytes > 0 { return Array(output.readableBytesView) }
            if needsInput || (input.readableBytes == 0 && !outputFull) {
                // Either zlib wants more input, or it consumed everything and may or may not be at the end.
                if !upstreamDone { continue }
                if needsInput { throw truncated() }
                try checkEnded()
                continue
            }
            if !outputFull && input.readableBytes > 0 && input.readableBytes == before {
                // zlib stopped with input left and room to write: the member ended.
                try nextMember()
            }
        }
        return []
    }

    /// At the end of the input: fine if the gzip trailer was read, truncated otherwise.
    private func checkEnded() throws(SwiftletError) {
        var probe = ByteBufferAllocator().buffer(capacity: 64)
        var empty = ByteBufferAllocator().buffer(capacity: 1)
        do {
            try decompressor.inflate(from: &empty, to: &probe)
        } catch {
            throw truncated()
        }
        guard probe.readableBytes == 0 else { throw truncated() }
        finished = true
    }

    /// After a member's trailer: another member follows, or zero padding up to the end.
    private func nextMember() throws(SwiftletError) {
        let rest = input.readableBytesView
        if rest.starts(with: [0x1F, 0x8B]) {
            do {
                try decompressor.reset()
            } catch {
                throw SwiftletError(.internal, "cannot restart the gzip decompressor", cause: error)
            }
            return
        }
        guard rest.allSatisfy({ $0 == 0 }) else {
            throw SwiftletError(
                .invalidInput,
                "\(what) has data after the end of its gzip stream; the blob is corrupt, import or pull the image again"
            )
        }
        input.clear()
        while true {
            let chunk = try upstream.read(upTo: Self.inputChunk)
            if chunk.isEmpty { break }
            guard chunk.allSatisfy({ $0 == 0 }) else {
                throw SwiftletError(
                    .invalidInput,
                    "\(what) has data after the end of its gzip stream; the blob is corrupt, import or pull the image again"
                )
            }
        }
        upstreamDone = true
        finished = true
    }

    private func truncated() -> SwiftletError {
        SwiftletError(.invalidInput, "\(what) ends in the middle of its gzip stream (truncated); import or pull the image again")
    }
}
