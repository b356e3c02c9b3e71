import AsyncAlgorithms
import HTTPTypes
import NIOConcurrencyHelpers
import NIOCore

/// A request to send to an instance: the head and the whole body.
public struct ProxyRequest: Sendable {
    /// The request head (method, path with query, headers).
    public var head: HTTPRequest
    /// The body.
    public var body: ByteBuffer

    /// Creates a request.
    public init(head: HTTPRequest, body: ByteBuffer) {
        self.head = head
        self.body = body
    }
}

/// An instance's answer: the head at once, the body streamed with back-pressure.
public struct ProxyResponse: Sendable {
    /// The response head.
    public var head: HTTPResponse
    /// The body; consume it to the end or drop it (dropping closes the connection).
    public var body: ProxyResponseBody

    /// Creates a response.
    public init(head: HTTPResponse, body: ProxyResponseBody) {
        self.head = head
        self.body = body
    }
}

/// The streamed body of a ``ProxyResponse``. The connection waits for each chunk to be taken,
/// so a slow client slows the function's output instead of filling memory. If the consumer
/// drops it before the end, the connection is closed rather than reused.
public final class ProxyResponseBody: AsyncSequence, Sendable {
    public typealias Element = ByteBuffer
    public typealias AsyncIterator = AsyncThrowingChannel<ByteBuffer, any Error>.Iterator

    let channel: AsyncThrowingChannel<ByteBuffer, any Error>
    let abandoned: NIOLockedValueBox<Bool>

    init(channel: AsyncThrowingChannel<ByteBuffer, any Error>, abandoned: NIOLockedValueBox<Bool>) {
        self.channel = channel
        self.abandoned = abandoned
    }

    /// A body that yields `chunks` and ends; for providers that hold the whole answer, and tests.
    public static func chunks(_ chunks: [ByteBuffer]) -> ProxyResponseBody {
        let channel = AsyncThrowingChannel<ByteBuffer, any Error>()
        let abandoned = NIOLockedValueBox(false)
        Task {
            for chunk in chunks {
                await channel.send(chunk)
                if abandoned.withLockedValue({ $0 }) { return }
            }
            channel.finish()
        }
        return ProxyResponseBody(channel: channel, abandoned: abandoned)
    }

    public func makeAsyncIterator() -> AsyncIterator { channel.makeAsyncIterator() }

    /// Gives up the rest of the body; the connection it came on is closed.
    public func abandon() {
        let first = abandoned.withLockedValue { flag -> Bool in
            defer { flag = true }
            return !flag
        }
        if first { channel.fail(CancellationError()) }
    }

    /// Reads the whole body, up to `limit` bytes.
    public func collect(upTo limit: Int) async throws -> ByteBuffer {
        var result = ByteBuffer()
        for try await chunk in self {
            guard result.readableBytes + chunk.readableBytes <= limit else {
                abandon()
                throw ProxyError.responseTooLarge
            }
            var chunk = chunk
            result.writeBuffer(&chunk)
        }
        return result
    }

    deinit {
        abandon()
    }
}

/// Failures on the data path to an instance.
public enum ProxyError: Error, Sendable {
    /// The instance did not answer within the function's timeout.
    case timeout
    /// The connection failed or closed before a complete answer.
    case connectionFailed(String)
    /// A collected response exceeded its limit.
    case responseTooLarge
    /// The connection ended before any answer (a kept-alive connection the instance had closed,
    /// or a reset); the request may be sent again on a new connection (`written` tells whether
    /// it left at all).
    case staleConnection(written: Bool)
}
