import NIOConcurrencyHelpers
import NIOCore
import NIOPosix

/// Receives the lines an instance writes to stdout and stderr.
public protocol InstanceLogSink: Sendable {
    /// One line (without its newline) written by `instance` of `function` on `stream`.
    func line(function: String, instance: String, stream: LogStream, text: String)
}

/// Which output stream a line came from.
public enum LogStream: String, Sendable {
    case stdout, stderr
}

/// Reads one pipe of an instance line by line on NIO and reports the end of the stream.
final class PipeLineReader: ChannelInboundHandler, Sendable {
    typealias InboundIn = ByteBuffer

    private let stream: LogStream
    private let onLine: @Sendable (LogStream, String) -> Void
    private let onEnd: @Sendable () -> Void
    private let pending = NIOLockedValueBox<[UInt8]>([])
    /// Lines longer than this are split, so a process writing no newline cannot grow memory.
    static let maxLine = 16 * 1024

    init(stream: LogStream, onLine: @escaping @Sendable (LogStream, String) -> Void, onEnd: @escaping @Sendable () -> Void) {
        self.stream = stream
        self.onLine = onLine
        self.onEnd = onEnd
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let buffer = unwrapInboundIn(data)
        let lines: [String] = pending.withLockedValue { pending in
            var lines: [String] = []
            for byte in buffer.readableBytesView {
                if byte == UInt8(ascii: "\n") || pending.count >= Self.maxLine {
                    lines.append(String(decoding: pending, as: UTF8.self))
                    pending.removeAll(keepingCapacity: true)
                    if byte == UInt8(ascii: "\n") { continue }
                }
                pending.append(byte)
            }
            return lines
        }
        for line in lines { onLine(stream, line) }
    }

    func channelInactive(context: ChannelHandlerContext) {
        let rest = pending.withLockedValue { pending in
            defer { pending.removeAll() }
            return pending.isEmpty ? nil : String(decoding: pending, as: UTF8.self)
        }
        if let rest { onLine(stream, rest) }
        onEnd()
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }

    /// Starts reading `fd` (taking ownership of it) on `group`.
    static func start(
        fd: CInt, stream: LogStream, group: any EventLoopGroup,
        onLine: @escaping @Sendable (LogStream, String) -> Void, onEnd: @escaping @Sendable () -> Void
    ) async throws {
        _ = try await NIOPipeBootstrap(group: group)
            .channelOption(.autoRead, value: true)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(PipeLineReader(stream: stream, onLine: onLine, onEnd: onEnd))
                }
            }
            .takingOwnershipOfDescriptor(input: fd)
            .get()
    }
}
