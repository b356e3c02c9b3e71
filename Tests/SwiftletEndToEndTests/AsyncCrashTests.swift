import AsyncHTTPClient
import Foundation
import NIOConcurrencyHelpers
import NIOCore
import SwiftletSandbox
import Testing

extension EndToEnd {
    /// The durable queue against the real binary: `kill -9` while 2,000 async calls are being
    /// queued, run and called back, then a restart on the same data directory. Every call that
    /// was acknowledged with 202 must still reach its callback (at least once).
    @Suite("End to end: async calls survive kill -9", .timeLimit(.minutes(8)))
    struct AsyncCrashTests {
        static let total = 2000
        static let concurrency = 64
        /// The platform is killed once this many calls are acknowledged (and callbacks arrive).
        static let killAfter = 800
        /// Firing pauses here until the kill, so some calls are always left for after the restart.
        static let pauseAt = 1500

        @Test("kill -9 of swiftlet up during 2,000 async calls: no acknowledged call is lost")
        func killNineDuringAsyncCalls() async throws {
            try Requirements.check()
            let directory = TestPlatform.makeTemporaryDirectory()
            let host = SandboxHost(dataDirectory: directory)
            let processes = ProcessList()
            let receiver = try await CallbackReceiver.start()
            do {
                try await steps(directory: directory, processes: processes, receiver: receiver)
            } catch {
                await cleanUp(directory: directory, host: host, processes: processes, receiver: receiver)
                throw error
            }
            await cleanUp(directory: directory, host: host, processes: processes, receiver: receiver)
        }

        /// Kills every process the test started, removes their sandboxes and the data directory,
        /// and stops the receiver, also when the test failed.
        private func cleanUp(directory: String, host: SandboxHost, processes: ProcessList, receiver: CallbackReceiver) async {
            for process in processes.all where process.isRunning {
                kill(process.processIdentifier, SIGKILL)
                await SwiftletBinary.waitForExit(process)
            }
            for id in (try? await host.runtime.list()) ?? [] {
                try? await host.runtime.delete(id: id)
            }
            try? FileManager.default.removeItem(atPath: directory)
            try? FileManager.default.removeItem(atPath: directory + "-handler.py")
            await receiver.stop()
        }

        /// The calls still to send and the ones acknowledged, shared by the firing tasks.
        final class Ledger: Sendable {
            struct State {
                var pending: [Int]
                /// Acknowledged call id → the body it sent.
                var acknowledged: [String: String] = [:]
                /// Requests that failed (not acknowledged; their slot is sent again later).
                var errors = 0
                /// Set once the platform was killed: phase-one firing stops.
                var killed = false
            }
            let state: NIOLockedValueBox<State>

            init(count: Int) { state = NIOLockedValueBox(State(pending: Array((0..<count).reversed()))) }

            var acknowledgedCount: Int { state.withLockedValue { $0.acknowledged.count } }
            var acknowledged: [String: String] { state.withLockedValue { $0.acknowledged } }
            var pendingCount: Int { state.withLockedValue { $0.pending.count } }
            var killed: Bool { state.withLockedValue { $0.killed } }
        }

        /// Fires the pending calls at `gateway`, `concurrency` at a time. In phase one (`untilKilled`)
        /// a task stops once the platform was killed and a failed slot goes back to the pending
        /// list; after the restart (`untilKilled` false) failed slots are retried a few times.
        static func fire(_ ledger: Ledger, gateway: String, callback: String, untilKilled: Bool) async {
            await withTaskGroup(of: Void.self) { group in
                for _ in 0..<concurrency {
                    group.addTask {
                        var failuresInARow = 0
                        while true {
                            if untilKilled {
                                let (killed, acknowledged) = ledger.state.withLockedValue { ($0.killed, $0.acknowledged.count) }
                                if killed { return }
                                if acknowledged >= pauseAt {
                                    try? await Task.sleep(for: .milliseconds(20))
                                    continue
                                }
                            } else if failuresInARow >= 20 {
                                return
                            }
                            guard let index = ledger.state.withLockedValue({ $0.pending.popLast() }) else { return }
                            let body = "crash-call-\(index)"
                            var request = HTTPClientRequest(url: gateway + "/async-function/crashy")
                            request.method = .POST
                            request.headers.add(name: "X-Callback-Url", value: callback)
                            request.body = .bytes(ByteBuffer(string: body))
                            do {
                                let response = try await AsyncTests.client.execute(request, timeout: .seconds(30))
                                _ = try await response.body.collect(upTo: 64 * 1024)
                                guard response.status == .accepted, let id = response.headers.first(name: "X-Call-Id") else {
                                    throw TestFailure("HTTP \(response.status.code)")
                                }
                                ledger.state.withLockedValue { $0.acknowledged[id] = body }
                                failuresInARow = 0
                            } catch {
                                // Not acknowledged (the platform may have died with the request in
                                // flight): send this slot again later as a new call.
                                ledger.state.withLockedValue { state in
                                    state.pending.append(index)
                                    state.errors += 1
                                }
                                failuresInARow += 1
                                try? await Task.sleep(for: .milliseconds(50))
                            }
                        }
                    }
                }
            }
        }

        private func steps(directory: String, processes: ProcessList, receiver: CallbackReceiver) async throws {
            let upArguments = ["--async-lease", "2s"]
            let (first, port, _) = try SwiftletBinary.startUp(dataDirectory: directory, extra: upArguments)
            processes.append(first)
            let gateway = "http://127.0.0.1:\(port)"
            #expect(try await eventually { (try? await HTTPClient.shared.get(url: gateway + "/healthz").get().status.code) == 200 })
            let handler = directory + "-handler.py"
            try Data(AsyncTests.mirror.utf8).write(to: URL(fileURLWithPath: handler))
            let deploy = try await SwiftletBinary.run(["deploy", "crashy", "--runtime", "python3", "--code", handler, "--gateway", gateway, "--data-dir", directory])
            try #require(deploy.status == 0, "\(deploy.stderr)")
            let warm = try await SwiftletBinary.run(["invoke", "crashy", "--gateway", gateway, "--data", "warm"])
            #expect(warm.stdout == "warm", "\(warm.stderr)")

            // Phase one: fire until the kill.
            let ledger = Ledger(count: Self.total)
            let phaseOne = Task { await Self.fire(ledger, gateway: gateway, callback: receiver.url, untilKilled: true) }
            let clock = ContinuousClock()
            let killDeadline = clock.now + .seconds(60)
            while clock.now < killDeadline, !(ledger.acknowledgedCount >= Self.killAfter && receiver.total > 0) {
                try await Task.sleep(for: .milliseconds(5))
            }
            let readyToKill = ledger.acknowledgedCount >= Self.killAfter && receiver.total > 0
            kill(first.processIdentifier, SIGKILL)
            ledger.state.withLockedValue { $0.killed = true }
            await SwiftletBinary.waitForExit(first)
            await phaseOne.value
            let acknowledgedAtKill = ledger.acknowledgedCount
            let callbacksAtKill = receiver.total
            try #require(
                readyToKill,
                "within 60 s only \(acknowledgedAtKill) calls were acknowledged and \(callbacksAtKill) callbacks arrived"
            )

            // Restart on the same data directory (it removes the sandboxes the killed process
            // left) and fire the rest.
            let (second, port2, log) = try SwiftletBinary.startUp(dataDirectory: directory, extra: upArguments)
            processes.append(second)
            let gateway2 = "http://127.0.0.1:\(port2)"
            #expect(try await eventually(timeout: .seconds(30)) { (try? await HTTPClient.shared.get(url: gateway2 + "/healthz").get().status.code) == 200 })
            let restartedAt = clock.now
            await Self.fire(ledger, gateway: gateway2, callback: receiver.url, untilKilled: false)
            #expect(ledger.pendingCount == 0, "\(ledger.pendingCount) calls could not be queued after the restart")
            let acknowledged = ledger.acknowledged

            // Every acknowledged call reaches the receiver.
            let delivered = try await eventually(timeout: .seconds(180) - (clock.now - restartedAt)) {
                acknowledged.keys.allSatisfy { receiver.count(of: $0) >= 1 }
            }
            let counts = receiver.counts
            let missing = acknowledged.keys.filter { (counts[$0] ?? 0) == 0 }
            let duplicates = acknowledged.keys.filter { (counts[$0] ?? 0) >= 2 }
            let unacknowledged = counts.keys.filter { acknowledged[$0] == nil }
            print(
                "async crash test: \(acknowledged.count) acknowledged, \(missing.count) missing, \(duplicates.count) duplicates"
                    + " (killed after \(acknowledgedAtKill) acknowledged and \(callbacksAtKill) callbacks; \(ledger.state.withLockedValue { $0.errors }) requests"
                    + " failed and were sent again; \(unacknowledged.count) callbacks for calls whose 202 was lost; \(receiver.total) callbacks in all)"
            )
            #expect(delivered && missing.isEmpty, "\(missing.count) acknowledged calls never called back, e.g. \(missing.prefix(3))")
            #expect(acknowledged.count == Self.total)
            for (id, body) in acknowledged {
                let bodies = Set(receiver.callbacks(of: id).map { String(decoding: $0.body, as: UTF8.self) })
                #expect(bodies.isEmpty || bodies == [body], "call \(id) sent \(body) and was answered with \(bodies)")
            }

            // The queue settles: nothing left running or queued, nothing failed or dead.
            let password = try String(contentsOfFile: directory + "/basic-auth-password", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
            var counters: [String: Int] = [:]
            let settled = try await eventually(timeout: .seconds(30)) {
                var request = HTTPClientRequest(url: gateway2 + "/system/async?function=crashy&limit=0")
                request.headers.add(name: "Authorization", value: "Basic " + Data("admin:\(password)".utf8).base64EncodedString())
                let response = try await HTTPClient.shared.execute(request, timeout: .seconds(10))
                let body = try await response.body.collect(upTo: 1024 * 1024)
                let json = try JSONSerialization.jsonObject(with: Data(body.readableBytesView)) as? [String: Any]
                counters = json?["counts"] as? [String: Int] ?? [:]
                return counters["queued"] == 0 && counters["running"] == 0
            }
            #expect(settled, "\(counters)")
            #expect(counters["failed"] == 0 && counters["dead"] == 0, "\(counters)")
            #expect((counters["succeeded"] ?? 0) >= Self.total, "\(counters)")
            let output = try String(contentsOf: log, encoding: .utf8)
            #expect(output.contains("removing sandbox left by an earlier run"))

            kill(second.processIdentifier, SIGTERM)
            let exited = try await eventually(timeout: .seconds(30)) { !second.isRunning }
            #expect(exited, "swiftlet up did not stop within 30 s of SIGTERM")
            if exited { #expect(second.terminationStatus == 0) }
        }
    }
}
