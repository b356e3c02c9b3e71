import Foundation
import HTTPTypes
import NIOConcurrencyHelpers
import NIOCore
import SwiftletCore
import SwiftletProviders

/// A provider whose instances live in memory and answer with their id and the function's
/// version label. It isolates the scheduler's and gateway's logic from runc.
final class FakeProvider: Provider {
    struct State {
        var started: [String] = []
        var stopped: [String] = []
        var failStarts = 0
        var startDelay: Duration = .zero
        /// What ``health()`` reports (nil: healthy).
        var problem: SwiftletError?
        /// Specs handed to ``functionRemoved(_:)``.
        var removedFunctions: [String] = []
    }
    let state = NIOLockedValueBox(State())

    func start() async throws {}
    func validate(_ spec: FunctionSpec, code: Data) throws -> FunctionSpec { spec }
    func shutdown() async {}
    var orchestration: String { "fake" }
    func health() async -> SwiftletError? { state.withLockedValue { $0.problem } }
    func functionRemoved(_ spec: FunctionSpec) async { state.withLockedValue { $0.removedFunctions.append(spec.name) } }

    func startInstance(of spec: FunctionSpec) async throws -> any FunctionInstance {
        let (fail, delay) = state.withLockedValue { state -> (Bool, Duration) in
            if state.failStarts > 0 {
                state.failStarts -= 1
                return (true, state.startDelay)
            }
            return (false, state.startDelay)
        }
        if delay > .zero { try await Task.sleep(for: delay) }
        if fail { throw SwiftletError(.internal, "fake start failure") }
        let instance = FakeInstance(id: "\(spec.name)-\(UUID().uuidString.prefix(8))", version: spec.labels["version"] ?? "", provider: self)
        state.withLockedValue { $0.started.append(instance.id) }
        return instance
    }

    var started: [String] { state.withLockedValue { $0.started } }
    var stopped: [String] { state.withLockedValue { $0.stopped } }
}

final class FakeInstance: FunctionInstance {
    let id: String
    let version: String
    private let provider: FakeProvider
    private let exited = NIOLockedValueBox<(done: Bool, waiters: [CheckedContinuation<Void, Never>])>((false, []))
    /// Set to make health checks fail.
    let unhealthy = NIOLockedValueBox(false)

    init(id: String, version: String, provider: FakeProvider) {
        self.id = id
        self.version = version
        self.provider = provider
    }

    var hasExited: Bool { exited.withLockedValue { $0.done } }

    func waitUntilReady(timeout: Duration) async throws {}

    func checkHealth(timeout: Duration) async -> Bool {
        !hasExited && !unhealthy.withLockedValue { $0 }
    }

    func send(_ request: ProxyRequest, timeout: Duration) async throws -> ProxyResponse {
        if hasExited { throw ProxyError.connectionFailed("gone") }
        if request.head.path?.hasPrefix("/crash") == true {
            crash()
            throw ProxyError.connectionFailed("crashed")
        }
        if let path = request.head.path, path.hasPrefix("/slow") {
            // `/slow?ms=N` holds the call N milliseconds (default 200).
            let ms = path.split(separator: "=").last.flatMap { Int($0) } ?? 200
            try await Task.sleep(for: .milliseconds(ms))
        }
        var head = HTTPResponse(status: .ok)
        head.headerFields[.contentType] = "text/plain"
        head.headerFields[HTTPField.Name("X-Instance")!] = id
        // Whether the caller's credentials reached the function.
        head.headerFields[HTTPField.Name("X-Saw-Authorization")!] = request.head.headerFields[.authorization] == nil ? "no" : "yes"
        return ProxyResponse(head: head, body: .chunks([ByteBuffer(string: version.isEmpty ? "ok" : version)]))
    }

    func waitForExit() async {
        await withCheckedContinuation { continuation in
            let done = exited.withLockedValue { state -> Bool in
                if state.done { return true }
                state.waiters.append(continuation)
                return false
            }
            if done { continuation.resume() }
        }
    }

    func crash() {
        let waiters = exited.withLockedValue { state -> [CheckedContinuation<Void, Never>] in
            state.done = true
            defer { state.waiters = [] }
            return state.waiters
        }
        for waiter in waiters { waiter.resume() }
    }

    func stop() async {
        provider.state.withLockedValue { $0.stopped.append(id) }
        crash()
    }
}

extension FakeInstance {
    /// A fixed usage while running, so the cgroup gauges have something to show.
    func resourceUsage() -> InstanceUsage? {
        hasExited ? nil : InstanceUsage(memoryBytes: 12_345_678, cpuSeconds: 0.5)
    }
}
