import Logging
import ServiceLifecycle
import SwiftletCore
import SwiftletSandbox

/// Pre-started, generic sandboxes per runtime: a runner listening with no function code, no
/// secrets and no function environment. A cold start takes one and specialises it (binds the
/// code in, writes the secrets, imports the handler) instead of creating a container; a taken
/// sandbox belongs to that function for good and is never given back.
///
/// A `Service`: `run()` keeps every runtime's pool at its size (with back-off after failures)
/// and removes the pooled sandboxes on shutdown.
public actor WarmPool: Service {
    /// How many warm sandboxes to keep per runtime (0 or absent: none).
    public struct Settings: Sendable, Equatable {
        /// The pool size of each runtime.
        public var sizes: [Runtime: Int]

        /// Creates settings.
        public init(sizes: [Runtime: Int]) {
            self.sizes = sizes.filter { $0.value > 0 }
        }

        /// One warm sandbox per runtime.
        public static let `default` = Settings(sizes: [.python3: 1, .node: 1])
        /// No warm pool.
        public static let disabled = Settings(sizes: [:])
    }

    /// The state of one runtime's pool, for the API.
    public struct RuntimeStatus: Codable, Sendable, Equatable {
        /// The runtime.
        public var runtime: String
        /// The configured size.
        public var size: Int
        /// Sandboxes ready to be taken.
        public var ready: Int
        /// Sandboxes starting.
        public var starting: Int
        /// Cold starts served from the pool since start.
        public var hits: Int
        /// Cold starts that found the pool empty.
        public var misses: Int
    }

    private let settings: Settings
    private let make: @Sendable (Runtime) async throws -> SandboxInstance
    private let logger: Logger
    private var ready: [Runtime: [SandboxInstance]] = [:]
    private var starting: [Runtime: Int] = [:]
    private var failures: [Runtime: Int] = [:]
    private var hits: [Runtime: Int] = [:]
    private var misses: [Runtime: Int] = [:]
    private var closed = false
    private let refills: AsyncStream<Runtime>
    private let refillContinuation: AsyncStream<Runtime>.Continuation

    /// Creates a pool that starts sandboxes with `make` (which returns once the runner listens).
    public init(settings: Settings, logger: Logger, make: @escaping @Sendable (Runtime) async throws -> SandboxInstance) {
        self.settings = settings
        self.make = make
        self.logger = logger
        (refills, refillContinuation) = AsyncStream.makeStream(of: Runtime.self)
    }

    /// The configured sizes.
    public nonisolated var configuredSizes: [Runtime: Int] { settings.sizes }

    /// Takes a warm sandbox of `runtime`, or nil when none is ready; a replacement starts.
    public func take(_ runtime: Runtime) async -> SandboxInstance? {
        guard !closed, settings.sizes[runtime] != nil else { return nil }
        defer { refillContinuation.yield(runtime) }
        while var list = ready[runtime], !list.isEmpty {
            let sandbox = list.removeFirst()
            ready[runtime] = list
            if sandbox.hasExited {
                logger.warning("a warm sandbox exited while pooled; discarding it", metadata: ["swiftlet.instance": "\(sandbox.id)"])
                await sandbox.stop()
                continue
            }
            hits[runtime, default: 0] += 1
            return sandbox
        }
        misses[runtime, default: 0] += 1
        return nil
    }

    /// The state of every runtime's pool.
    public func status() -> [RuntimeStatus] {
        settings.sizes.keys.sorted { $0.rawValue < $1.rawValue }.map { runtime in
            RuntimeStatus(
                runtime: runtime.rawValue, size: settings.sizes[runtime] ?? 0, ready: ready[runtime]?.count ?? 0,
                starting: starting[runtime] ?? 0, hits: hits[runtime] ?? 0, misses: misses[runtime] ?? 0
            )
        }
    }

    public func run() async throws {
        await withDiscardingTaskGroup { group in
            await withGracefulShutdownHandler {
                for runtime in settings.sizes.keys { refillContinuation.yield(runtime) }
                for await runtime in refills {
                    for _ in 0..<missing(runtime) {
                        starting[runtime, default: 0] += 1
                        let delay = backoff(runtime)
                        group.addTask { await self.startOne(runtime, after: delay) }
                    }
                }
            } onGracefulShutdown: {
                self.refillContinuation.finish()
            }
            logger.debug("warm pool stopping")
            closed = true
            group.cancelAll()
        }
        await drain()
        logger.info("warm pool stopped; pooled sandboxes removed")
    }

    private func missing(_ runtime: Runtime) -> Int {
        guard !closed else { return 0 }
        return max(0, (settings.sizes[runtime] ?? 0) - (ready[runtime]?.count ?? 0) - (starting[runtime] ?? 0))
    }

    private func backoff(_ runtime: Runtime) -> Duration {
        let count = failures[runtime] ?? 0
        return count == 0 ? .zero : .milliseconds(min(30_000, 500 << min(count - 1, 6)))
    }

    private func startOne(_ runtime: Runtime, after delay: Duration) async {
        if delay > .zero { try? await Task.sleep(for: delay) }
        let result: Result<SandboxInstance, any Error>
        if Task.isCancelled || closed {
            result = .failure(CancellationError())
        } else {
            do { result = .success(try await make(runtime)) } catch { result = .failure(error) }
        }
        await finished(runtime, result)
    }

    private func finished(_ runtime: Runtime, _ result: Result<SandboxInstance, any Error>) async {
        starting[runtime, default: 1] -= 1
        switch result {
        case .success(let sandbox):
            if closed {
                await sandbox.stop()
                return
            }
            failures[runtime] = 0
            ready[runtime, default: []].append(sandbox)
        case .failure(let error):
            guard !closed, !(error is CancellationError) else { return }
            failures[runtime, default: 0] += 1
            logger.error("cannot start a warm sandbox", metadata: ["swiftlet.runtime": "\(runtime.rawValue)", "error": "\(error)"])
            refillContinuation.yield(runtime)
        }
    }

    private func drain() async {
        closed = true
        let all = ready.values.flatMap { $0 }
        ready = [:]
        await withTaskGroup(of: Void.self) { group in
            for sandbox in all {
                group.addTask { await sandbox.stop() }
            }
        }
    }
}
