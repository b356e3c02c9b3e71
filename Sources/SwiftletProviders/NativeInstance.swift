import Foundation
import HTTPTypes
import NIOCore
import SwiftletCore
import SwiftletSandbox

/// An instance in a runc sandbox, reached at 127.0.0.1:8080 inside its network namespace
/// through a keep-alive connection pool.
public final class NativeInstance: FunctionInstance {
    public let id: String
    let sandbox: SandboxInstance
    let pool: ConnectionPool
    /// Whether a server without a `/_/health` route (404/405) counts as ready once it answers.
    let healthFallback: Bool
    /// The debugger ports forwarded to the host (debug mode only), stopped with the instance.
    let debugForwarders: [DebugForwarder]

    init(
        sandbox: SandboxInstance, id: String? = nil, dialer: NetnsDialer, group: any EventLoopGroup, port: UInt16,
        healthFallback: Bool = false, debugForwarders: [DebugForwarder] = []
    ) {
        self.id = id ?? sandbox.id
        self.debugForwarders = debugForwarders
        self.sandbox = sandbox
        self.healthFallback = healthFallback
        let namespaceFD = sandbox.namespaceFD
        self.pool = ConnectionPool(group: group) {
            try await dialer.connect(namespaceFD: namespaceFD, port: port)
        }
    }

    public var hasExited: Bool { sandbox.hasExited }

    public var debugEndpoints: [String: String] {
        Dictionary(debugForwarders.map { ($0.debugger.name, $0.endpoint) }, uniquingKeysWith: { first, _ in first })
    }

    /// Reads the sandbox's cgroup (a few small sysfs files).
    public func resourceUsage() -> InstanceUsage? {
        guard !sandbox.hasExited else { return nil }
        return CgroupUsage.read(path: sandbox.cgroupPath)
    }

    public func waitUntilReady(timeout: Duration) async throws {
        let clock = ContinuousClock()
        let deadline = clock.now + timeout
        // A runner says when it listens; only a process that never does is probed.
        switch await sandbox.waitForReadySignal(timeout: timeout) {
        case true?: return
        case false?: if sandbox.hasExited { throw exitedError() }
        case nil: break
        }
        var delay: Duration = .milliseconds(1)
        var health = HTTPRequest(method: .get, scheme: nil, authority: "127.0.0.1", path: "/_/health")
        health.headerFields[.userAgent] = "swiftlet-readiness"
        while clock.now < deadline {
            if sandbox.hasExited { throw exitedError() }
            do {
                let response = try await pool.send(ProxyRequest(head: health, body: ByteBuffer()), timeout: .seconds(2))
                _ = try? await response.body.collect(upTo: 64 * 1024)
                if response.head.status == .ok { return }
                // An image whose server has no health route is ready once it answers at all.
                if healthFallback && (response.head.status == .notFound || response.head.status == .methodNotAllowed) { return }
            } catch {
                // Not listening yet: try again shortly.
            }
            try await Task.sleep(for: delay)
            // A refused connect costs microseconds: probe often so a ready runner is seen at once.
            delay = min(delay * 2, .milliseconds(8))
        }
        if sandbox.hasExited { throw exitedError() }
        throw SwiftletError(.unavailable, "instance \(id) did not become ready within \(timeout); its last output: \(lastOutput)")
    }

    public func checkHealth(timeout: Duration) async -> Bool {
        guard !sandbox.hasExited else { return false }
        var health = HTTPRequest(method: .get, scheme: nil, authority: "127.0.0.1", path: "/_/health")
        health.headerFields[.userAgent] = "swiftlet-health"
        guard let response = try? await pool.send(ProxyRequest(head: health, body: ByteBuffer()), timeout: .nanoseconds(timeout.inNanoseconds)) else { return false }
        _ = try? await response.body.collect(upTo: 64 * 1024)
        return response.head.status == .ok
            || (healthFallback && (response.head.status == .notFound || response.head.status == .methodNotAllowed))
    }

    /// Turns a warm runner into this function's runner: it applies `env`, adds `pythonPath`
    /// and imports the handler from `/home/app/function`, answering once it serves.
    func specialise(env: [String: String], pythonPath: [String]) async throws {
        struct Body: Encodable {
            var env: [String: String]
            var functionDir: String
            var pythonPath: [String]
        }
        let json = try JSONEncoder().encode(Body(env: env, functionDir: "/home/app/function", pythonPath: pythonPath))
        var head = HTTPRequest(method: .post, scheme: nil, authority: "127.0.0.1", path: "/_/specialise")
        head.headerFields[.contentType] = "application/json"
        head.headerFields[.contentLength] = String(json.count)
        head.headerFields[.userAgent] = "swiftlet-specialise"
        let response = try await pool.send(ProxyRequest(head: head, body: ByteBuffer(bytes: json)), timeout: .seconds(30))
        let body = (try? await response.body.collect(upTo: 64 * 1024)).map { String(buffer: $0) } ?? ""
        guard response.head.status == .ok else {
            throw SwiftletError(
                .badGateway, "the handler of this function failed to load (\(response.head.status.code)): \(body.prefix(500)); its last output: \(lastOutput)"
            )
        }
    }

    public func send(_ request: ProxyRequest, timeout: Duration) async throws -> ProxyResponse {
        try await pool.send(request, timeout: .nanoseconds(timeout.inNanoseconds))
    }

    public func waitForExit() async {
        await sandbox.waitForExit()
    }

    public func stop() async {
        for forwarder in debugForwarders { forwarder.stop() }
        pool.close()
        await sandbox.stop()
    }

    private var lastOutput: String {
        let lines = sandbox.recentOutput.suffix(5)
        return lines.isEmpty ? "(nothing)" : lines.joined(separator: " | ")
    }

    private func exitedError() -> SwiftletError {
        SwiftletError(.badGateway, "instance \(id) exited before it was ready; its last output: \(lastOutput)")
    }
}
