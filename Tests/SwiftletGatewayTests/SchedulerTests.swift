import Foundation
import Logging
import NIOCore
import ServiceLifecycle
import SwiftletCore
import SwiftletProviders
import SwiftletScheduler
import Testing

/// The scheduler's logic, with instances in memory.
@Suite("Scheduler")
struct SchedulerTests {
    static func spec(_ name: String, version: String = "v1", min: Int? = nil) -> FunctionSpec {
        var labels = ["version": version]
        if let min { labels["com.openfaas.scale.min"] = String(min) }
        return FunctionSpec(name: name, runtime: .python3, codeDigest: "d", labels: labels)
    }

    /// Runs `body` with a running scheduler over `provider`, then shuts it down.
    static func withScheduler(_ provider: FakeProvider, _ body: (Scheduler) async throws -> Void) async throws {
        let scheduler = Scheduler(
            provider: provider, configuration: .init(readinessTimeout: .seconds(5), acquireTimeout: .seconds(2)),
            logger: Logger(label: "test")
        )
        let task = Task { try await scheduler.run() }
        do {
            try await body(scheduler)
        } catch {
            task.cancel()
            _ = try? await task.value
            throw error
        }
        task.cancel()
        _ = try? await task.value
    }

    static func call(_ scheduler: Scheduler, _ name: String, path: String = "/") async throws -> (instance: String, body: String) {
        let lease = try await scheduler.acquire(name)
        defer { lease.end() }
        let response = try await lease.instance.send(
            ProxyRequest(head: .init(method: .get, scheme: nil, authority: nil, path: path), body: ByteBuffer()), timeout: .seconds(1)
        )
        let body = try await response.body.collect(upTo: 1024)
        // Counted as the gateway's proxy counts it (`invocationCount` comes from these metrics).
        scheduler.metrics.callFinished(name, code: Int(response.head.status.code), duration: .zero)
        return (response.head.headerFields[.init("X-Instance")!] ?? "", String(buffer: body))
    }

    @Test("a call waits for the first instance and unknown functions are not found")
    func firstCall() async throws {
        let provider = FakeProvider()
        provider.state.withLockedValue { $0.startDelay = .milliseconds(100) }
        try await Self.withScheduler(provider) { scheduler in
            await scheduler.deploy(Self.spec("a"))
            let first = try await Self.call(scheduler, "a")
            #expect(first.body == "v1")
            await #expect(throws: SwiftletError.self) { try await scheduler.acquire("nope") }
            let status = await scheduler.status("a")
            #expect(status.replicas == 1 && status.available == 1 && status.invocations == 1)
        }
    }

    @Test("com.openfaas.scale.min instances start and calls go to the least loaded one")
    func leastLoaded() async throws {
        let provider = FakeProvider()
        try await Self.withScheduler(provider) { scheduler in
            await scheduler.deploy(Self.spec("b", min: 3))
            _ = try await Self.call(scheduler, "b")
            #expect(try await eventually { await scheduler.status("b").available == 3 })
            // Three leases held at once land on three different instances.
            let leases = try await [scheduler.acquire("b"), scheduler.acquire("b"), scheduler.acquire("b")]
            #expect(Set(leases.map(\.instance.id)).count == 3)
            for lease in leases { lease.end() }
        }
    }

    @Test("a crashed instance is replaced")
    func replacement() async throws {
        let provider = FakeProvider()
        try await Self.withScheduler(provider) { scheduler in
            await scheduler.deploy(Self.spec("c"))
            let first = try await Self.call(scheduler, "c").instance
            await #expect(throws: ProxyError.self) { try await Self.call(scheduler, "c", path: "/crash") }
            #expect(try await eventually { (try? await Self.call(scheduler, "c").instance).map { $0 != first } ?? false })
            #expect(provider.started.count == 2)
        }
    }

    @Test("failed starts back off, and a call gets 503 with the reason instead of hanging")
    func startFailures() async throws {
        let provider = FakeProvider()
        provider.state.withLockedValue { $0.failStarts = 2 }
        try await Self.withScheduler(provider) { scheduler in
            await scheduler.deploy(Self.spec("d"))
            do {
                _ = try await Self.call(scheduler, "d")
            } catch let error as SwiftletError {
                #expect(error.code == .unavailable)
                #expect(error.message.contains("fake start failure"))
            }
            // After the back-off the function recovers by itself.
            #expect(try await eventually(timeout: .seconds(5)) { (try? await Self.call(scheduler, "d").body) == "v1" })
        }
    }

    @Test("an update rolls: new instances first, then the old ones stop; no call fails")
    func rollingUpdate() async throws {
        let provider = FakeProvider()
        try await Self.withScheduler(provider) { scheduler in
            await scheduler.deploy(Self.spec("e", version: "v1", min: 2))
            #expect(try await eventually { await scheduler.status("e").available == 2 })
            let old = Set(provider.started)
            await scheduler.update(Self.spec("e", version: "v2", min: 2))
            var seen: Set<String> = []
            for _ in 0..<50 {
                seen.insert(try await Self.call(scheduler, "e").body)
            }
            #expect(try await eventually { (try? await Self.call(scheduler, "e").body) == "v2" })
            #expect(try await eventually { Set(provider.stopped).isSuperset(of: old) })
            #expect(seen.isSubset(of: ["v1", "v2"]))
        }
    }

    @Test("removing a function stops its instances; graceful shutdown stops all")
    func removeAndShutdown() async throws {
        let provider = FakeProvider()
        let scheduler = Scheduler(provider: provider, logger: Logger(label: "test"))
        let group = ServiceGroup(configuration: .init(services: [.init(service: scheduler)], logger: Logger(label: "test")))
        let task = Task { try await group.run() }
        await scheduler.deploy(Self.spec("f"))
        await scheduler.deploy(Self.spec("g"))
        _ = try await Self.call(scheduler, "f")
        _ = try await Self.call(scheduler, "g")
        await scheduler.remove("f")
        #expect(provider.stopped.count == 1)
        await #expect(throws: SwiftletError.self) { try await scheduler.acquire("f") }
        await group.triggerGracefulShutdown()
        try await task.value
        #expect(Set(provider.stopped) == Set(provider.started))
    }
}

func eventually(timeout: Duration = .seconds(10), _ condition: () async throws -> Bool) async throws -> Bool {
    let clock = ContinuousClock()
    let deadline = clock.now + timeout
    while clock.now < deadline {
        if try await condition() { return true }
        try await Task.sleep(for: .milliseconds(10))
    }
    return try await condition()
}
