import Foundation
import HTTPTypes
import Logging
import NIOConcurrencyHelpers
import NIOCore
import SwiftletCore
import SwiftletProviders
import SwiftletScheduler
import Testing

/// The scheduler's scaling: the scale API, the autoscaler (capacity and rps), scale to zero,
/// `max_inflight` and the gateway queue, health checks and crashes, with instances in memory and
/// every interval short.
@Suite("Scaling", .timeLimit(.minutes(1)))
struct ScalingTests {
    /// Short intervals: the autoscaler ticks every 50 ms, scales down after 400 ms, health checks
    /// run every 100 ms and two failures in a row replace an idle instance.
    static let fast = Scheduler.Configuration(
        readinessTimeout: .seconds(5), acquireTimeout: .seconds(3), scaleInterval: .milliseconds(50), scaleDownDelay: .milliseconds(400),
        healthInterval: .milliseconds(100), healthTimeout: .milliseconds(100), healthFailuresBeforeReplace: 2
    )

    typealias Key = ScalingLabels.Key

    static func spec(_ name: String, labels: [String: String] = [:], env: [String: String] = [:]) -> FunctionSpec {
        FunctionSpec(name: name, runtime: .python3, codeDigest: "d", envVars: env, labels: labels)
    }

    /// A GET request head for `path`.
    static func get(_ path: String) -> HTTPRequest {
        HTTPRequest(method: .get, scheme: nil, authority: nil, path: path)
    }

    /// Runs `body` with a running scheduler over `provider`, then shuts it down.
    static func withScheduler(
        _ provider: FakeProvider, configuration: Scheduler.Configuration = fast, _ body: (Scheduler) async throws -> Void
    ) async throws {
        let scheduler = Scheduler(provider: provider, configuration: configuration, logger: Logger(label: "test"))
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

    /// One call as the gateway makes it; returns the `X-Instance` that answered. A call whose
    /// instance exited while it was held fails, as a real instance's dropped connection does.
    @discardableResult
    static func call(_ scheduler: Scheduler, _ name: String, path: String = "/", log: CallLog? = nil) async throws -> String {
        let lease = try await scheduler.acquire(name)
        let start = ContinuousClock.now
        do {
            let response = try await lease.instance.send(
                ProxyRequest(head: Self.get(path), body: ByteBuffer()), timeout: .seconds(5)
            )
            _ = try await response.body.collect(upTo: 1024)
            if lease.instance.hasExited { throw ProxyError.connectionFailed("the instance exited during the call") }
            let instance = response.head.headerFields[HTTPField.Name("X-Instance")!] ?? ""
            log?.record(instance: instance, lease: lease.instance.id, start: start, end: .now)
            lease.end()
            // Counted as the gateway's proxy counts it (`invocationCount` comes from these metrics).
            scheduler.metrics.callFinished(name, code: Int(response.head.status.code), duration: .now - start)
            return instance
        } catch {
            lease.end(failed: true)
            throw error
        }
    }

    /// Keeps `workers` calls to `path` going until `stop()` (or for `limit` at most, so that a
    /// test that fails before stopping it leaves nothing running); `stop()` gives every outcome.
    final class Load: Sendable {
        private let stopped = NIOLockedValueBox(false)
        private let task: Task<[Result<String, any Error>], Never>

        init(_ scheduler: Scheduler, _ name: String, workers: Int, path: String, log: CallLog? = nil, limit: Duration = .seconds(10)) {
            let stopped = self.stopped
            let deadline = ContinuousClock.now + limit
            task = Task {
                await withTaskGroup(of: [Result<String, any Error>].self) { group in
                    for _ in 0..<workers {
                        group.addTask {
                            var results: [Result<String, any Error>] = []
                            while !stopped.withLockedValue({ $0 }), ContinuousClock.now < deadline {
                                do {
                                    results.append(.success(try await ScalingTests.call(scheduler, name, path: path, log: log)))
                                } catch {
                                    results.append(.failure(error))
                                }
                            }
                            return results
                        }
                    }
                    return await group.reduce(into: []) { $0 += $1 }
                }
            }
        }

        /// Stops the workers and waits for their calls in flight.
        func stop() async -> [Result<String, any Error>] {
            stopped.withLockedValue { $0 = true }
            return await task.value
        }
    }

    /// The interval of each call, by the instance that answered it.
    final class CallLog: Sendable {
        typealias Call = (instance: String, lease: String, start: ContinuousClock.Instant, end: ContinuousClock.Instant)
        private let calls = NIOLockedValueBox<[Call]>([])

        func record(instance: String, lease: String, start: ContinuousClock.Instant, end: ContinuousClock.Instant) {
            calls.withLockedValue { $0.append((instance, lease, start, end)) }
        }

        var count: Int { calls.withLockedValue { $0.count } }
        var instances: Set<String> { Set(calls.withLockedValue { $0.map(\.instance) }) }
        /// Whether every answer came from the instance the scheduler leased.
        var headersMatchLeases: Bool { calls.withLockedValue { $0.allSatisfy { $0.instance == $0.lease } } }

        /// The most calls one instance held at the same time.
        var maxConcurrentPerInstance: Int {
            let all = calls.withLockedValue { $0 }
            var best = 0
            for group in Dictionary(grouping: all, by: \.instance).values {
                // Ends sort before starts at the same instant: touching intervals do not overlap.
                var events: [(at: ContinuousClock.Instant, delta: Int)] = []
                for call in group {
                    events.append((call.start, 1))
                    events.append((call.end, -1))
                }
                events.sort { a, b in a.at < b.at || (a.at == b.at && a.delta < b.delta) }
                var current = 0
                for (_, delta) in events {
                    current += delta
                    best = max(best, current)
                }
            }
            return best
        }
    }

    /// Samples `value` every 10 ms for `duration`; returns every sample.
    static func samples(for duration: Duration, _ value: () async -> Int) async throws -> [Int] {
        let deadline = ContinuousClock.now + duration
        var values: [Int] = []
        while ContinuousClock.now < deadline {
            values.append(await value())
            try await Task.sleep(for: .milliseconds(10))
        }
        return values
    }

    /// Instances started and not stopped.
    static func live(_ provider: FakeProvider) -> Int {
        provider.state.withLockedValue { Set($0.started).subtracting($0.stopped).count }
    }

    // MARK: The scale API

    @Test("the scale API sets replicas within min…max; 0 only with scale.zero; unknown functions are not found")
    func scaleAPI() async throws {
        let provider = FakeProvider()
        // A long scale-down delay, so that the autoscaler leaves the requested count alone here.
        var configuration = Self.fast
        configuration.scaleDownDelay = .seconds(30)
        try await Self.withScheduler(provider, configuration: configuration) { scheduler in
            await scheduler.deploy(Self.spec("api", labels: [Key.min: "1", Key.max: "3"]))
            #expect(try await eventually { await scheduler.status("api").available == 1 })

            try await scheduler.scale("api", to: 3)
            #expect(await scheduler.status("api").replicas == 3)
            #expect(try await eventually { await scheduler.status("api").available == 3 })
            #expect(Self.live(provider) == 3)
            try await scheduler.scale("api", to: 2)
            #expect(try await eventually { await scheduler.status("api").available == 2 && Self.live(provider) == 2 })

            for replicas in [4, 100, -1] {
                await #expect {
                    try await scheduler.scale("api", to: replicas)
                } throws: { error in
                    (error as? SwiftletError)?.code == .invalidInput && (error as? SwiftletError)?.message.contains("1 to 3") == true
                }
            }
            // 0 needs com.openfaas.scale.zero=true, and the error says so.
            await #expect {
                try await scheduler.scale("api", to: 0)
            } throws: { error in
                let error = error as? SwiftletError
                return error?.code == .invalidInput && error?.message.contains("com.openfaas.scale.zero=true") == true
            }
            #expect(await scheduler.status("api").replicas == 2)

            await #expect {
                try await scheduler.scale("nope", to: 1)
            } throws: { error in
                (error as? SwiftletError)?.code == .notFound
            }

            await scheduler.deploy(Self.spec("zero", labels: [Key.zero: "true", Key.max: "2"]))
            #expect(try await eventually { await scheduler.status("zero").available == 1 })
            try await scheduler.scale("zero", to: 0)
            #expect(try await eventually {
                let status = await scheduler.status("zero")
                return status.replicas == 0 && status.available == 0
            })
            // A call wakes it again.
            _ = try await Self.call(scheduler, "zero")
            #expect(await scheduler.status("zero").replicas == 1)
            await #expect(throws: SwiftletError.self) { try await scheduler.scale("zero", to: 3) }
        }
    }

    // MARK: The autoscaler

    @Test("capacity: concurrent slow calls scale up at once, never above max; idle scales down after the delay, never below min")
    func autoscaleCapacity() async throws {
        let provider = FakeProvider()
        try await Self.withScheduler(provider) { scheduler in
            await scheduler.deploy(
                Self.spec(
                    "cap", labels: [Key.min: "2", Key.max: "4", Key.target: "2", Key.type: "capacity"]
                )
            )
            #expect(try await eventually { await scheduler.status("cap").available == 2 })

            // 10 calls always in flight, target 2 per instance: 5 wanted, 4 allowed.
            let log = CallLog()
            let clock = ContinuousClock()
            let loadStart = clock.now
            let load = Load(scheduler, "cap", workers: 10, path: "/slow?ms=100", log: log)
            #expect(try await eventually(timeout: .seconds(3)) { await scheduler.status("cap").available == 4 })
            let scaledUpAfter = clock.now - loadStart
            #expect(scaledUpAfter < .seconds(2), "scaling up took \(scaledUpAfter)")
            let underLoad = try await Self.samples(for: .milliseconds(600)) { await scheduler.status("cap").replicas }
            #expect(underLoad.allSatisfy { $0 == 4 }, "replicas under load: \(Set(underLoad))")
            #expect(Self.live(provider) <= 4)
            // Least-loaded routing spreads the calls over all four (on a busy machine the newest
            // may take a moment to get its first call).
            let spread = try await eventually(timeout: .seconds(3)) { log.instances.count == 4 }
            let results = await load.stop()
            let loadEnd = clock.now
            #expect(results.allSatisfy { (try? $0.get()) != nil }, "a call failed under load")
            #expect(spread, "calls reached \(log.instances.count) instances")
            #expect(log.headersMatchLeases)

            // Idle: back to min only after the lower recommendation held for scaleDownDelay.
            #expect(try await eventually(timeout: .seconds(3)) { await scheduler.status("cap").replicas == 2 })
            let scaledDownAfter = clock.now - loadEnd
            // The readings may drop a little before `stop()` returns when the machine is busy
            // (other suites run in parallel), so the bound leaves room below the 400 ms delay.
            #expect(scaledDownAfter >= .milliseconds(150), "scaled down \(scaledDownAfter) after the load ended (delay 400 ms)")
            #expect(try await eventually { await scheduler.status("cap").available == 2 && Self.live(provider) == 2 })
            let idle = try await Self.samples(for: .milliseconds(800)) { await scheduler.status("cap").replicas }
            #expect(idle.allSatisfy { $0 == 2 }, "replicas while idle: \(Set(idle))")
            #expect(Self.live(provider) == 2)
        }
    }

    @Test("a short dip in load does not scale down: only a lower load held for the whole delay does")
    func scaleDownNeedsTheWholeDelay() async throws {
        let provider = FakeProvider()
        try await Self.withScheduler(provider) { scheduler in
            await scheduler.deploy(Self.spec("dip", labels: [Key.max: "3", Key.target: "1"]))
            #expect(try await eventually { await scheduler.status("dip").available == 1 })
            for _ in 0..<3 {
                let load = Load(scheduler, "dip", workers: 3, path: "/slow?ms=50")
                #expect(try await eventually(timeout: .seconds(3)) { await scheduler.status("dip").replicas == 3 })
                try await Task.sleep(for: .milliseconds(200))
                _ = await load.stop()
                // 150 ms idle is shorter than the 400 ms delay.
                let dip = try await Self.samples(for: .milliseconds(150)) { await scheduler.status("dip").replicas }
                #expect(dip.allSatisfy { $0 == 3 }, "replicas during a short dip: \(Set(dip))")
            }
            #expect(try await eventually(timeout: .seconds(3)) { await scheduler.status("dip").replicas == 1 })
        }
    }

    @Test("rps: the request rate, not concurrency, drives the replicas")
    func autoscaleRPS() async throws {
        let provider = FakeProvider()
        try await Self.withScheduler(provider) { scheduler in
            await scheduler.deploy(
                Self.spec("rps", labels: [Key.type: "rps", Key.target: "10", Key.max: "3"])
            )
            await scheduler.deploy(
                // Target 4: two callers hold at most 2 calls, and lease ends are counted a moment late
                // on a loaded machine, so the measured load may briefly read above 2.
                Self.spec("conc", labels: [Key.type: "capacity", Key.target: "4", Key.max: "3"])
            )
            #expect(try await eventually { await scheduler.status("rps").available == 1 })
            #expect(try await eventually { await scheduler.status("conc").available == 1 })

            // Two callers, many short calls: well above 20 requests/s, at most 2 in flight.
            let clock = ContinuousClock()
            let start = clock.now
            let rpsLoad = Load(scheduler, "rps", workers: 2, path: "/slow?ms=2")
            let concLoad = Load(scheduler, "conc", workers: 2, path: "/slow?ms=2")
            #expect(try await eventually(timeout: .seconds(3)) { await scheduler.status("rps").replicas == 3 })
            let concReplicas = try await Self.samples(for: .milliseconds(300)) { await scheduler.status("conc").replicas }
            let rpsReplicas = try await Self.samples(for: .milliseconds(300)) { await scheduler.status("rps").replicas }
            let rpsResults = await rpsLoad.stop()
            let concResults = await concLoad.stop()
            let elapsed = (clock.now - start).components
            let seconds = Double(elapsed.seconds) + Double(elapsed.attoseconds) / 1e18
            // Three replicas at target 10 need more than 20 requests/s; on a busy machine the two
            // callers reach 35–100.
            #expect(Double(rpsResults.count) / seconds > 20, "the load was only \(Double(rpsResults.count) / seconds) requests/s")
            #expect(rpsResults.allSatisfy { (try? $0.get()) != nil } && concResults.allSatisfy { (try? $0.get()) != nil })
            #expect(rpsReplicas.allSatisfy { $0 == 3 }, "rps replicas: \(Set(rpsReplicas))")
            #expect(concReplicas.allSatisfy { $0 == 1 }, "2 calls in flight with target 4 need 1 instance: \(Set(concReplicas))")

            // A trickle (about 5 requests/s) needs one instance.
            let trickle = Load(scheduler, "rps", workers: 1, path: "/slow?ms=200")
            #expect(try await eventually(timeout: .seconds(3)) { await scheduler.status("rps").replicas == 1 })
            let trickleResults = await trickle.stop()
            #expect(trickleResults.allSatisfy { (try? $0.get()) != nil })
        }
    }

    // MARK: Scale to zero

    @Test("scale.zero: an idle function drops to zero after zero-duration; a call wakes it and every held call is answered")
    func scaleToZero() async throws {
        let provider = FakeProvider()
        provider.state.withLockedValue { $0.startDelay = .milliseconds(200) }
        try await Self.withScheduler(provider) { scheduler in
            await scheduler.deploy(
                Self.spec("idle", labels: [Key.zero: "true", Key.zeroDuration: "1s"])
            )
            await scheduler.deploy(Self.spec("busy", labels: [Key.zeroDuration: "1s"]))
            let first = try await Self.call(scheduler, "idle")
            // Idle from here: the other function's call must not count (on a busy machine it can
            // take a good part of a second).
            let clock = ContinuousClock()
            let lastCall = clock.now
            _ = try await Self.call(scheduler, "busy")
            #expect(try await eventually(timeout: .seconds(4)) {
                let status = await scheduler.status("idle")
                return status.replicas == 0 && status.available == 0
            })
            let idleFor = clock.now - lastCall
            #expect(idleFor >= .milliseconds(900), "went to zero \(idleFor) after the last call (zero-duration 1s)")
            #expect(try await eventually { provider.stopped.contains(first) })
            // Without the label a function stays at its minimum.
            #expect(await scheduler.status("busy").replicas == 1)

            // 16 calls at zero: all held until the first instance is ready, none fails.
            let started = provider.started.count
            let results = await withTaskGroup(of: Result<String, any Error>.self) { group in
                for _ in 0..<16 {
                    group.addTask {
                        do { return .success(try await Self.call(scheduler, "idle")) } catch { return .failure(error) }
                    }
                }
                return await group.reduce(into: []) { $0.append($1) }
            }
            let failures = results.compactMap { result -> String? in
                if case .failure(let error) = result { return "\(error)" }
                return nil
            }
            #expect(failures.isEmpty, "calls at zero failed: \(failures)")
            #expect(provider.started.count > started)
            let status = await scheduler.status("idle")
            #expect(status.replicas >= 1 && status.available >= 1)
            #expect(status.invocations == 17)
            // …and it goes back to zero once idle again.
            #expect(try await eventually(timeout: .seconds(4)) { await scheduler.status("idle").replicas == 0 })
        }
    }

    // MARK: max_inflight and the queue

    @Test("max_inflight caps the calls per instance; extra calls wait, then 429 once max-queue calls wait")
    func maxInflightAndQueue() async throws {
        let provider = FakeProvider()
        try await Self.withScheduler(provider) { scheduler in
            // 2 instances × max_inflight 2: at most 4 calls run at once, the rest wait.
            await scheduler.deploy(
                Self.spec("capped", labels: [Key.min: "2", Key.max: "2"], env: ["max_inflight": "2"])
            )
            #expect(try await eventually { await scheduler.status("capped").available == 2 })
            let log = CallLog()
            let load = Load(scheduler, "capped", workers: 12, path: "/slow?ms=30", log: log)
            try await Task.sleep(for: .milliseconds(600))
            let results = await load.stop()
            #expect(results.allSatisfy { (try? $0.get()) != nil }, "a capped call failed")
            #expect(log.count > 8, "only \(log.count) calls in 600 ms")
            #expect(log.instances.count == 2)
            #expect(log.headersMatchLeases)
            #expect(log.maxConcurrentPerInstance == 2, "an instance held \(log.maxConcurrentPerInstance) calls at once")

            // One instance, one call at a time, two may wait: the fourth call is refused at once.
            await scheduler.deploy(
                Self.spec("queue", labels: [Key.max: "1", Key.maxQueue: "2"], env: ["max_inflight": "1"])
            )
            #expect(try await eventually { await scheduler.status("queue").available == 1 })
            let queued = CallLog()
            let held = Task {
                await withTaskGroup(of: Result<String, any Error>.self) { group in
                    for _ in 0..<3 {
                        group.addTask {
                            do {
                                return .success(try await Self.call(scheduler, "queue", path: "/slow?ms=300", log: queued))
                            } catch {
                                return .failure(error)
                            }
                        }
                    }
                    return await group.reduce(into: []) { $0.append($1) }
                }
            }
            // One call runs and two wait; the scheduler offers no count of waiting calls, so give
            // the three a moment to arrive (each holds the instance 300 ms).
            try await Task.sleep(for: .milliseconds(150))
            let clock = ContinuousClock()
            let refusedAt = clock.now
            await #expect {
                try await Self.call(scheduler, "queue")
            } throws: { error in
                (error as? SwiftletError)?.code == .tooManyRequests
            }
            #expect(clock.now - refusedAt < .milliseconds(500), "the 429 must come at once, not after waiting (3 s)")
            let heldResults = await held.value
            #expect(heldResults.allSatisfy { (try? $0.get()) != nil }, "the held calls must all be answered")
            #expect(queued.maxConcurrentPerInstance == 1)
            // With the queue drained, calls are accepted again.
            _ = try await Self.call(scheduler, "queue")
        }
    }

    // MARK: Health and crashes

    @Test("an unhealthy instance gets no new calls and is replaced once idle")
    func unhealthyReplaced() async throws {
        let provider = FakeProvider()
        try await Self.withScheduler(provider) { scheduler in
            await scheduler.deploy(Self.spec("sick", labels: [Key.min: "2", Key.max: "2"]))
            #expect(try await eventually { await scheduler.status("sick").available == 2 })
            let leases = try await [scheduler.acquire("sick"), scheduler.acquire("sick")]
            #expect(Set(leases.map(\.instance.id)).count == 2)
            let sick = try #require(leases[0].instance as? FakeInstance)
            sick.unhealthy.withLockedValue { $0 = true }
            leases[1].end()

            // Failing health checks take it out of routing at once…
            #expect(try await eventually(timeout: .seconds(2)) { await scheduler.status("sick").available == 1 })
            var answered: Set<String> = []
            for _ in 0..<20 {
                answered.insert(try await Self.call(scheduler, "sick"))
            }
            #expect(!answered.contains(sick.id), "a call went to the unhealthy instance")
            // …but it is not replaced while it still serves a call (five checks fail meanwhile).
            try await Task.sleep(for: .milliseconds(500))
            #expect(!provider.stopped.contains(sick.id))
            leases[0].end()

            // Idle and still failing: replaced.
            #expect(try await eventually(timeout: .seconds(3)) { provider.stopped.contains(sick.id) })
            #expect(try await eventually(timeout: .seconds(3)) { await scheduler.status("sick").available == 2 })
            #expect(provider.started.count == 3)
            #expect(Self.live(provider) == 2)
            #expect(await scheduler.status("sick").replicas == 2)
        }
    }

    @Test("an instance that recovers its health takes calls again")
    func healthRecovers() async throws {
        let provider = FakeProvider()
        var configuration = Self.fast
        configuration.healthFailuresBeforeReplace = 100
        try await Self.withScheduler(provider, configuration: configuration) { scheduler in
            await scheduler.deploy(Self.spec("flaky"))
            let id = try await Self.call(scheduler, "flaky")
            let lease = try await scheduler.acquire("flaky")
            let instance = try #require(lease.instance as? FakeInstance)
            lease.end()
            instance.unhealthy.withLockedValue { $0 = true }
            #expect(try await eventually(timeout: .seconds(2)) { await scheduler.status("flaky").available == 0 })
            instance.unhealthy.withLockedValue { $0 = false }
            #expect(try await eventually(timeout: .seconds(2)) { await scheduler.status("flaky").available == 1 })
            #expect(try await Self.call(scheduler, "flaky") == id)
            #expect(provider.started.count == 1)
        }
    }

    @Test("a crash under load fails only the calls the crashed instance held; it is replaced")
    func crashUnderLoad() async throws {
        let provider = FakeProvider()
        try await Self.withScheduler(provider) { scheduler in
            await scheduler.deploy(
                Self.spec("crashy", labels: [Key.min: "2", Key.max: "2"], env: ["max_inflight": "3"])
            )
            #expect(try await eventually { await scheduler.status("crashy").available == 2 })
            // Six slow calls fill both instances (3 each); six more wait at the gateway.
            let outcomes = NIOLockedValueBox<[(instance: String, ok: Bool)]>([])
            let leased = NIOLockedValueBox<[String: FakeInstance]>([:])
            let calls = Task {
                await withTaskGroup(of: Void.self) { group in
                    for _ in 0..<12 {
                        group.addTask {
                            guard let lease = try? await scheduler.acquire("crashy") else {
                                outcomes.withLockedValue { $0.append(("(no lease)", false)) }
                                return
                            }
                            let id = lease.instance.id
                            if let fake = lease.instance as? FakeInstance { leased.withLockedValue { $0[id] = fake } }
                            do {
                                let response = try await lease.instance.send(
                                    ProxyRequest(head: Self.get("/slow?ms=400"), body: ByteBuffer()),
                                    timeout: .seconds(5)
                                )
                                _ = try await response.body.collect(upTo: 1024)
                                let ok = !lease.instance.hasExited
                                lease.end(failed: !ok)
                                outcomes.withLockedValue { $0.append((id, ok)) }
                            } catch {
                                lease.end(failed: true)
                                outcomes.withLockedValue { $0.append((id, false)) }
                            }
                        }
                    }
                }
            }
            try await Task.sleep(for: .milliseconds(150))
            let running = leased.withLockedValue { $0 }
            #expect(running.count == 2, "both instances hold calls")
            let (victim, instance) = try #require(running.min { $0.key < $1.key })
            instance.crash()
            await calls.value

            let all = outcomes.withLockedValue { $0 }
            #expect(all.count == 12)
            let failed = all.filter { !$0.ok }
            #expect(failed.count == 3, "the crashed instance held 3 calls: \(failed)")
            #expect(failed.allSatisfy { $0.instance == victim }, "only calls on the crashed instance may fail: \(failed)")
            #expect(all.filter { $0.ok }.allSatisfy { $0.instance != victim })
            // Replaced; every later call succeeds.
            #expect(try await eventually(timeout: .seconds(3)) { await scheduler.status("crashy").available == 2 })
            #expect(provider.started.count == 3)
            for _ in 0..<10 {
                #expect(try await Self.call(scheduler, "crashy") != victim)
            }
        }
    }
}
