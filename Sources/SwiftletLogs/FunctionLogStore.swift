import Foundation
import Logging
import NIOConcurrencyHelpers
import NIOPosix
import ServiceLifecycle
import SwiftletSandbox

/// Every instance's stdout and stderr, per function, in bounded rotated files under
/// `<data>/logs/<function>/` (they survive a restart), plus live followers.
///
/// Capture (``line(function:instance:stream:text:)``) only queues the line: ``run()`` (a
/// `Service`) writes the queue on a thread pool, so no disk I/O happens on a NIO event loop.
///
/// ```swift
/// let logs = FunctionLogStore(configuration: .init(directory: data + "/logs"), logger: logger)
/// let provider = try NativeProvider(…, sink: logs, …)   // and run `logs` in the ServiceGroup
/// ```
public final class FunctionLogStore: InstanceLogSink, Service {
    /// Where and how much to keep.
    public struct Configuration: Sendable {
        /// The directory holding one folder per function.
        public var directory: String
        /// The largest size of one file before it rotates.
        public var maxFileBytes: Int
        /// How many files (the current one and rotated ones) are kept per function.
        public var files: Int
        /// Lines queued for writing before the oldest are dropped.
        public var queueLimit: Int

        /// Creates a configuration: by default 3 files of 10 MiB per function.
        public init(directory: String, maxFileBytes: Int = 10 * 1024 * 1024, files: Int = 3, queueLimit: Int = 100_000) {
            self.directory = directory
            self.maxFileBytes = maxFileBytes
            self.files = files
            self.queueLimit = queueLimit
        }
    }

    /// What ``follow(function:query:)`` returns: the stored lines that match, then the live ones.
    public struct Follow: Sendable {
        /// Matching stored lines, oldest first.
        public var history: [LogEntry]
        /// Lines written from now on (it ends when the store stops).
        public var live: AsyncStream<LogEntry>
    }

    private struct Queued: Sendable {
        var function: String
        var entry: LogEntry
    }

    private struct Subscriber {
        var query: LogQuery
        var continuation: AsyncStream<LogEntry>.Continuation
    }

    /// Only touched under the lock.
    private final class State: @unchecked Sendable {
        var files: [String: RotatingLogFile] = [:]
        var subscribers: [String: [UInt64: Subscriber]] = [:]
        var nextID: UInt64 = 0
        var stopped = false
    }

    /// The configuration in use.
    public let configuration: Configuration
    private let logger: Logger
    private let threadPool: NIOThreadPool
    private let queue: AsyncStream<Queued>
    private let queueContinuation: AsyncStream<Queued>.Continuation
    /// Serializes file I/O and delivery to followers, so a follower sees each line once.
    private let state = NIOLockedValueBox(State())

    /// Creates a store; call ``run()`` (or add it to a `ServiceGroup`) to write captured lines.
    public init(configuration: Configuration, threadPool: NIOThreadPool = .singleton, logger: Logger) {
        self.configuration = configuration
        self.threadPool = threadPool
        self.logger = logger
        (queue, queueContinuation) = AsyncStream.makeStream(
            of: Queued.self, bufferingPolicy: .bufferingNewest(max(1, configuration.queueLimit)))
    }

    /// Queues one captured line (never blocks: called on NIO event loops).
    public func line(function: String, instance: String, stream: LogStream, text: String) {
        let entry = LogEntry(timestamp: RFC3339.now(), instance: instance, stream: stream, text: text)
        queueContinuation.yield(Queued(function: function, entry: entry))
    }

    /// Writes queued lines until graceful shutdown (the lines already queued are still written),
    /// then ends every follower.
    public func run() async throws {
        await withGracefulShutdownHandler {
            for await item in queue {
                do {
                    try await append(item.entry, function: item.function)
                } catch {
                    logger.warning("cannot store a log line", metadata: ["swiftlet.function": "\(item.function)", "error": "\(error)"])
                }
            }
        } onGracefulShutdown: {
            self.queueContinuation.finish()
        }
        stop()
    }

    /// Writes `entry` to `function`'s files and hands it to the followers.
    public func append(_ entry: LogEntry, function: String) async throws {
        try await threadPool.runIfActive { try self.appendBlocking(entry, function: function) }
    }

    /// The stored lines of `function` that match `query`, oldest first.
    public func read(function: String, query: LogQuery = LogQuery()) async throws -> [LogEntry] {
        try await threadPool.runIfActive {
            self.state.withLockedValue { state in query.apply(self.file(function, in: state).readAll()) }
        }
    }

    /// The stored lines matching `query`, and every later line matching its instance filter.
    /// The live stream ends when the consumer stops iterating it or the store stops.
    public func follow(function: String, query: LogQuery = LogQuery(), bufferLimit: Int = 10_000) async throws -> Follow {
        try await threadPool.runIfActive {
            self.state.withLockedValue { state in
                let history = query.apply(self.file(function, in: state).readAll())
                let (stream, continuation) = AsyncStream.makeStream(of: LogEntry.self, bufferingPolicy: .bufferingNewest(bufferLimit))
                if state.stopped {
                    continuation.finish()
                    return Follow(history: history, live: stream)
                }
                let id = state.nextID
                state.nextID += 1
                state.subscribers[function, default: [:]][id] = Subscriber(
                    query: LogQuery(instance: query.instance), continuation: continuation)
                continuation.onTermination = { [weak self] _ in
                    self?.state.withLockedValue { state in
                        state.subscribers[function]?[id] = nil
                        if state.subscribers[function]?.isEmpty == true { state.subscribers[function] = nil }
                    }
                }
                return Follow(history: history, live: stream)
            }
        }
    }

    /// How many followers `function` has (tests use it to check nothing leaks).
    public func followerCount(function: String) -> Int {
        state.withLockedValue { $0.subscribers[function]?.count ?? 0 }
    }

    /// Ends every follower and closes the files.
    public func stop() {
        let continuations = state.withLockedValue { state in
            state.stopped = true
            for file in state.files.values { file.close() }
            defer { state.subscribers = [:] }
            return state.subscribers.values.flatMap { $0.values.map(\.continuation) }
        }
        for continuation in continuations { continuation.finish() }
    }

    private func appendBlocking(_ entry: LogEntry, function: String) throws {
        var data = try JSONEncoder().encode(entry)
        data.append(UInt8(ascii: "\n"))
        try state.withLockedValue { state in
            try file(function, in: state).append(Array(data))
            for subscriber in state.subscribers[function]?.values ?? [:].values where subscriber.query.matches(entry) {
                subscriber.continuation.yield(entry)
            }
        }
    }

    private func file(_ function: String, in state: State) -> RotatingLogFile {
        if let file = state.files[function] { return file }
        let file = RotatingLogFile(
            directory: configuration.directory + "/" + Self.folderName(function), maxBytes: configuration.maxFileBytes,
            files: configuration.files
        )
        state.files[function] = file
        return file
    }

    /// A safe folder name for a function name (names are validated already; this is defence).
    static func folderName(_ function: String) -> String {
        let allowed = Set("abcdefghijklmnopqrstuvwxyz0123456789-_".utf8)
        let safe = function.utf8.map { allowed.contains($0) ? String(UnicodeScalar($0)) : "%" + String($0, radix: 16) }.joined()
        return safe.isEmpty ? "%" : safe
    }
}
