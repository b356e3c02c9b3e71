import Foundation
import HTTPTypes
import Logging
import NIOConcurrencyHelpers
import NIOCore
import SwiftletCore
import SwiftletProviders
import SwiftletSandbox

/// An instance running as a Docker container with no network (or its function's own egress
/// network), reached at 127.0.0.1:PORT inside the container's network namespace, exactly as a
/// native instance: the namespace is opened from `/proc/<pid>/ns/net` of the container's init.
///
/// Background tasks follow the engine's log stream into the log sink, wait for the container to
/// end (re-checking with the engine when the connection to it drops), and read its stats for the
/// metrics every few seconds.
final class DockerInstance: FunctionInstance {
    let id: String
    let containerID: String
    let functionName: String
    private let engine: DockerEngine
    private let pool: ConnectionPool
    private let namespaceFD: CInt
    private let healthFallback: Bool
    private let secretsDirectory: String?
    private let debugForwarders: [DebugForwarder]
    private let logger: Logger
    private let state = NIOLockedValueBox(State())

    private struct State {
        var exited = false
        var stopped = false
        var exitWaiters: [CheckedContinuation<Void, Never>] = []
        var recent: [String] = []
        var usage: InstanceUsage?
        var tasks: [Task<Void, Never>] = []
    }

    /// How often the engine's stats are read.
    static let statsInterval: Duration = .seconds(5)

    init(
        id: String, containerID: String, functionName: String, engine: DockerEngine, namespaceFD: CInt, dialer: NetnsDialer,
        group: any EventLoopGroup, port: UInt16, healthFallback: Bool, secretsDirectory: String?, debugForwarders: [DebugForwarder],
        logger: Logger
    ) {
        self.id = id
        self.containerID = containerID
        self.functionName = functionName
        self.engine = engine
        self.namespaceFD = namespaceFD
        self.healthFallback = healthFallback
        self.secretsDirectory = secretsDirectory
        self.debugForwarders = debugForwarders
        self.logger = logger
        self.pool = ConnectionPool(group: group) { try await dialer.connect(namespaceFD: namespaceFD, port: port) }
    }

    /// Starts following the container: logs into `sink` (from `logsSince`, unix seconds, for an
    /// adopted container whose earlier lines are stored already), its end, its stats.
    func watch(sink: any InstanceLogSink, logsSince: Int? = nil) {
        let logs = Task { [engine, containerID, functionName, id, state, logger] in
            // The stream ends with the container; a dropped engine connection is retried while it runs.
            var since = logsSince
            while !Task.isCancelled, !state.withLockedValue({ $0.exited || $0.stopped }) {
                do {
                    try await engine.followLogs(containerID, since: since) { stream, text in
                        state.withLockedValue { state in
                            state.recent.append(text)
                            if state.recent.count > 20 { state.recent.removeFirst(state.recent.count - 20) }
                        }
                        sink.line(function: functionName, instance: id, stream: stream == .stderr ? .stderr : .stdout, text: text)
                    }
                    return
                } catch {
                    logger.debug("log stream of the instance interrupted", metadata: ["error": "\(error)"])
                    // Resume where it broke off (to the second), not from the start.
                    since = Int(Date().timeIntervalSince1970)
                    try? await Task.sleep(for: .seconds(1))
                }
            }
        }
        let waiter = Task { [weak self, engine, containerID] in
            var delay: Duration = .milliseconds(250)
            while !Task.isCancelled {
                do {
                    _ = try await engine.waitContainer(containerID)
                    self?.markExited()
                    return
                } catch {
                    if Task.isCancelled { return }
                    // The engine went away: it still may run the container. Ask again once it answers.
                    try? await Task.sleep(for: delay)
                    delay = min(delay * 2, .seconds(5))
                    do {
                        if try await engine.inspectContainer(containerID)?.State?.Running != true {
                            self?.markExited()
                            return
                        }
                    } catch {
                        // Still unreachable: keep serving through the namespace and ask again.
                    }
                }
            }
        }
        let stats = Task { [weak self, engine, containerID] in
            while !Task.isCancelled {
                if let usage = try? await engine.stats(containerID) {
                    self?.state.withLockedValue { $0.usage = usage }
                }
                try? await Task.sleep(for: Self.statsInterval)
            }
        }
        state.withLockedValue { $0.tasks = [logs, waiter, stats] }
    }

    private func markExited() {
        let waiters = state.withLockedValue { state -> [CheckedContinuation<Void, Never>] in
            state.exited = true
            defer { state.exitWaiters = [] }
            return state.exitWaiters
        }
        for waiter in waiters { waiter.resume() }
    }

    var hasExited: Bool { state.withLockedValue { $0.exited } }

    var debugEndpoints: [String: String] {
        Dictionary(debugForwarders.map { ($0.debugger.name, $0.endpoint) }, uniquingKeysWith: { first, _ in first })
    }

    func resourceUsage() -> InstanceUsage? {
        state.withLockedValue { $0.exited ? nil : $0.usage }
    }

    func waitUntilReady(timeout: Duration) async throws {
        let clock = ContinuousClock()
        let deadline = clock.now + timeout
        var delay: Duration = .milliseconds(1)
        while clock.now < deadline {
            if hasExited { throw exitedError() }
            if let status = await probe(timeout: .seconds(2)) {
                if status == 200 || (healthFallback && (status == 404 || status == 405)) { return }
            }
            try await Task.sleep(for: delay)
            delay = min(delay * 2, .milliseconds(8))
        }
        if hasExited { throw exitedError() }
        throw SwiftletError(.unavailable, "instance \(id) did not become ready within \(timeout); its last output: \(lastOutput)")
    }

    func checkHealth(timeout: Duration) async -> Bool {
        guard !hasExited, let status = await probe(timeout: timeout) else { return false }
        return status == 200 || (healthFallback && (status == 404 || status == 405))
    }

    /// The status of `GET /_/health`, or nil when nothing answers.
    private func probe(timeout: Duration) async -> Int? {
        var health = HTTPRequest(method: .get, scheme: nil, authority: "127.0.0.1", path: "/_/health")
        health.headerFields[.userAgent] = "swiftlet-health"
        guard let response = try? await pool.send(ProxyRequest(head: health, body: ByteBuffer()), timeout: .nanoseconds(timeout.inNanoseconds)) else {
            return nil
        }
        _ = try? await response.body.collect(upTo: 64 * 1024)
        return response.head.status.code
    }

    func send(_ request: ProxyRequest, timeout: Duration) async throws -> ProxyResponse {
        try await pool.send(request, timeout: .nanoseconds(timeout.inNanoseconds))
    }

    func waitForExit() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let done = state.withLockedValue { state -> Bool in
                if state.exited { return true }
                state.exitWaiters.append(continuation)
                return false
            }
            if done { continuation.resume() }
        }
    }

    func stop() async {
        let (first, tasks) = state.withLockedValue { state -> (Bool, [Task<Void, Never>]) in
            if state.stopped { return (false, []) }
            state.stopped = true
            return (true, state.tasks)
        }
        guard first else { return }
        for forwarder in debugForwarders { forwarder.stop() }
        pool.close()
        do {
            try await engine.removeContainer(containerID)
        } catch {
            // The orphan sweep at the next start (or `swiftlet gc`) removes it once the engine answers.
            logger.warning("cannot remove the instance's container", metadata: ["swiftlet.instance": "\(id)", "error": "\(error)"])
        }
        for task in tasks { task.cancel() }
        markExited()
        close(namespaceFD)
        if let secretsDirectory { SecretsDirectory.unmount(secretsDirectory) }
    }

    private var lastOutput: String {
        let lines = state.withLockedValue { $0.recent }.suffix(5)
        return lines.isEmpty ? "(nothing)" : lines.joined(separator: " | ")
    }

    private func exitedError() -> SwiftletError {
        SwiftletError(.badGateway, "instance \(id) exited before it was ready; its last output: \(lastOutput)")
    }
}
