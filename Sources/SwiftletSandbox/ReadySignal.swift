import NIOConcurrencyHelpers
import NIOCore
import NIOPosix

/// Reads an instance's ready pipe: the runner writes `ready\n` once it listens, so the platform
/// learns of readiness from an event instead of probing. End of file without `ready` (the
/// process exited, or never signals) reports `false`.
final class ReadySignal: ChannelInboundHandler, Sendable {
    typealias InboundIn = ByteBuffer

    private let promise: EventLoopPromise<Bool>
    private let received = NIOLockedValueBox<[UInt8]>([])
    private let completed = NIOLockedValueBox(false)

    private init(promise: EventLoopPromise<Bool>) {
        self.promise = promise
    }

    /// Whether the runner signalled readiness (false at end of file without a signal).
    var future: EventLoopFuture<Bool> { promise.futureResult }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let buffer = unwrapInboundIn(data)
        let done = received.withLockedValue { received -> Bool in
            received += buffer.readableBytesView.prefix(16)
            return received.starts(with: Array("ready\n".utf8))
        }
        if done {
            complete(true)
            context.close(promise: nil)
        } else if received.withLockedValue({ $0.count >= 6 }) {
            // Garbage on the pipe: treat as no signal, readiness falls back to probing.
            complete(false)
            context.close(promise: nil)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        complete(false)
        context.fireChannelInactive()
    }

    private func complete(_ ready: Bool) {
        let first = completed.withLockedValue { completed -> Bool in
            defer { completed = true }
            return !completed
        }
        if first { promise.succeed(ready) }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }

    /// Waits for the signal: true once it came, false when the pipe closed without it, nil when
    /// `timeout` passed first or the task was cancelled.
    func wait(timeout: Duration) async -> Bool? {
        let future = promise.futureResult
        let eventLoop = future.eventLoop
        let outcome = eventLoop.makePromise(of: Bool?.self)
        let settled = NIOLockedValueBox(false)
        let settle: @Sendable (Bool?) -> Void = { value in
            let first = settled.withLockedValue { settled -> Bool in
                defer { settled = true }
                return !settled
            }
            if first { outcome.succeed(value) }
        }
        let (seconds, attoseconds) = timeout.components
        let timer = eventLoop.scheduleTask(in: .nanoseconds(seconds * 1_000_000_000 + attoseconds / 1_000_000_000)) { settle(nil) }
        future.whenComplete { result in
            timer.cancel()
            settle(try? result.get())
        }
        return await withTaskCancellationHandler {
            (try? await outcome.futureResult.get()) ?? nil
        } onCancel: {
            settle(nil)
        }
    }

    /// Starts reading `fd` (taking ownership of it) on `group`.
    static func start(fd: CInt, group: any EventLoopGroup) async throws -> ReadySignal {
        let eventLoop = group.next()
        let signal = ReadySignal(promise: eventLoop.makePromise(of: Bool.self))
        _ = try await NIOPipeBootstrap(group: eventLoop)
            .channelOption(.autoRead, value: true)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(signal)
                }
            }
            .takingOwnershipOfDescriptor(input: fd)
            .get()
        return signal
    }
}
