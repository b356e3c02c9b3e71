import AsyncHTTPClient
import Foundation
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import SwiftletScheduler
import Testing

extension EndToEnd {
    /// Scaling over real sandboxes: the scale API and CLI, the autoscaler, scale to zero,
    /// `max_inflight` and the gateway queue, crashes under load, and the warm pool.
    @Suite("End to end: scaling")
    struct ScalingTests {
        static let json = [("Content-Type", "application/json")]

        /// Short scheduler intervals so that each test sees the autoscaler act within seconds.
        static let scheduling = Scheduler.Configuration(
            readinessTimeout: .seconds(20), acquireTimeout: .seconds(20), scaleInterval: .milliseconds(200), scaleDownDelay: .seconds(2),
            healthInterval: .milliseconds(500), healthTimeout: .seconds(1), healthFailuresBeforeReplace: 3
        )

        /// Sleeps `?s=` seconds and answers with its instance id; `/crash` exits the runner.
        static let whoSleeps = #"""
            import os, time
            def handle(event, context):
                if event.path == "/crash":
                    time.sleep(0.1)
                    os._exit(3)
                time.sleep(float(event.query.get("s", "0")))
                return {"statusCode": 200, "body": os.environ.get("HOSTNAME", "")}
            """#

        /// Reports what the function sees of its environment and code directory.
        static let poolProbe = #"""
            import os
            def handle(event, context):
                return {"statusCode": 200, "body": {
                    "marker": os.environ.get("POOL_MARKER"),
                    "name": os.environ.get("SWIFTLET_FUNCTION_NAME"),
                    "files": sorted(os.listdir("/home/app/function")),
                }}
            """#

        static func scale(_ platform: TestPlatform, _ name: String, _ body: String, auth: Bool = true) async throws -> TestPlatform.Answer {
            try await platform.request(.POST, "/system/scale-function/\(name)", body: ByteBuffer(string: body), headers: json, auth: auth)
        }

        /// `replicas` and `availableReplicas` of the function status.
        static func replicas(_ platform: TestPlatform, _ name: String) async throws -> (replicas: Int, available: Int) {
            let answer = try await platform.request(.GET, "/system/function/\(name)", auth: true)
            guard answer.status == 200 else { return (-1, -1) }
            let json = try answer.json()
            return (json["replicas"] as? Int ?? -1, json["availableReplicas"] as? Int ?? -1)
        }

        /// A client that opens up to 32 connections to one host (the shared one opens 8), so that
        /// a burst of calls reaches the gateway at once. Never shut down, like `HTTPClient.shared`.
        static let client: HTTPClient = {
            var configuration = HTTPClient.Configuration()
            configuration.connectionPool.concurrentHTTP1ConnectionsPerHostSoftLimit = 32
            return HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
        }()

        /// Calls `name` `count` times at once; returns each answer's status, body and Retry-After.
        static func burst(
            _ platform: TestPlatform, _ name: String, count: Int, path: String
        ) async throws -> [(status: Int, text: String, retryAfter: String?)] {
            try await withThrowingTaskGroup(of: (Int, String, String?).self) { group in
                for _ in 0..<count {
                    group.addTask {
                        let request = HTTPClientRequest(url: platform.baseURL + "/function/\(name)\(path)")
                        let response = try await client.execute(request, timeout: .seconds(40))
                        let body = try await response.body.collect(upTo: 1024 * 1024)
                        return (Int(response.status.code), String(buffer: body), response.headers.first(name: "Retry-After"))
                    }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
        }

        // MARK: The scale API

        @Test("POST /system/scale-function: 202 and the status follows; 400 out of range or malformed, 404 unknown, 401 without auth")
        func scaleAPI() async throws {
            var scheduling = Self.scheduling
            scheduling.scaleDownDelay = .seconds(60)  // the autoscaler leaves the requested count alone here
            try await TestPlatform.with(scheduling: scheduling) { platform in
                try await platform.deployOK(
                    "scaled", runtime: "python3", source: Self.whoSleeps,
                    extra: ["labels": ["com.openfaas.scale.min": "1", "com.openfaas.scale.max": "3"]]
                )
                #expect(try await platform.call("scaled").status == 200)

                let up = try await Self.scale(platform, "scaled", #"{"serviceName":"scaled","replicas":3,"namespace":"openfaas-fn"}"#)
                #expect(up.status == 202, "\(up.text)")
                #expect(try await Self.replicas(platform, "scaled").replicas == 3)
                #expect(try await eventually(timeout: .seconds(20)) { try await Self.replicas(platform, "scaled") == (3, 3) })
                // Three instances answer three calls held at once.
                let three = try await Self.burst(platform, "scaled", count: 3, path: "?s=1")
                #expect(three.allSatisfy { $0.status == 200 })
                #expect(Set(three.map(\.text)).count == 3, "three held calls went to \(Set(three.map(\.text)))")

                let down = try await Self.scale(platform, "scaled", #"{"serviceName":"scaled","replicas":1}"#)
                #expect(down.status == 202)
                #expect(try await eventually { try await Self.replicas(platform, "scaled") == (1, 1) })

                let refused: [(String, String, Int, String)] = [
                    ("above max", #"{"serviceName":"scaled","replicas":4}"#, 400, "outside"),
                    ("zero without scale.zero", #"{"serviceName":"scaled","replicas":0}"#, 400, "com.openfaas.scale.zero=true"),
                    ("negative", #"{"serviceName":"scaled","replicas":-1}"#, 400, "outside"),
                    ("replicas not a number", #"{"serviceName":"scaled","replicas":"many"}"#, 400, "wrong type"),
                    ("no replicas", #"{"serviceName":"scaled"}"#, 400, "missing"),
                    ("broken JSON", #"{"replicas": "#, 400, "not valid JSON"),
                    ("not an object", "[3]", 400, ""),
                    ("empty body", "", 400, "empty"),
                    ("other function named in the body", #"{"serviceName":"other","replicas":2}"#, 400, "does not match"),
                    ("other namespace", #"{"serviceName":"scaled","replicas":2,"namespace":"kube-system"}"#, 400, "namespace"),
                ]
                for (label, body, status, message) in refused {
                    let answer = try await Self.scale(platform, "scaled", body)
                    #expect(answer.status == status, "\(label): \(answer.status) \(answer.text)")
                    #expect(message.isEmpty || answer.text.contains(message), "\(label): \(answer.text)")
                }
                #expect(try await Self.replicas(platform, "scaled").replicas == 1, "a refused request changed the replicas")

                let unknown = try await Self.scale(platform, "nothing-here", #"{"serviceName":"nothing-here","replicas":1}"#)
                #expect(unknown.status == 404, "\(unknown.text)")
                #expect(try await Self.scale(platform, "Bad_Name", #"{"replicas":1}"#).status == 404)
                let anonymous = try await Self.scale(platform, "scaled", #"{"serviceName":"scaled","replicas":2}"#, auth: false)
                #expect(anonymous.status == 401)
                #expect(try await platform.request(.GET, "/system/pool").status == 401)
                #expect(try await Self.replicas(platform, "scaled").replicas == 1)
            }
        }

        @Test("swiftlet scale NAME REPLICAS: scales, and errors are one line with exit 1")
        func scaleCLI() async throws {
            var scheduling = Self.scheduling
            scheduling.scaleDownDelay = .seconds(60)
            try await TestPlatform.with(scheduling: scheduling) { platform in
                try await platform.deployOK(
                    "cliscale", runtime: "python3", source: Self.whoSleeps,
                    extra: ["labels": ["com.openfaas.scale.max": "2", "com.openfaas.scale.zero": "true"]]
                )
                let env = ["SWIFTLET_URL": platform.baseURL, "SWIFTLET_USER": "admin", "SWIFTLET_PASSWORD": platform.credentials.password]
                let up = try await SwiftletBinary.run(["scale", "cliscale", "2"], environment: env)
                #expect(up.status == 0, "\(up.stderr)")
                #expect(up.stdout == "scaled cliscale to 2 replicas\n")
                #expect(try await eventually(timeout: .seconds(20)) { try await Self.replicas(platform, "cliscale") == (2, 2) })
                let zero = try await SwiftletBinary.run(["scale", "cliscale", "0"], environment: env)
                #expect(zero.status == 0, "\(zero.stderr)")
                #expect(try await eventually { try await Self.replicas(platform, "cliscale") == (0, 0) })
                #expect(try await platform.call("cliscale").status == 200, "a call wakes it")

                let failures: [([String], [String: String], String)] = [
                    (["scale", "cliscale", "3"], env, "outside"),
                    (["scale", "nothing-here", "1"], env, "not found"),
                    (["scale", "cliscale", "many"], env, "whole number"),
                    (["scale", "cliscale", "1.5"], env, "whole number"),
                    (["scale", "Bad_Name", "1"], env, "invalid function name"),
                    (["scale", "cliscale", "1"], env.merging(["SWIFTLET_PASSWORD": "wrong"]) { $1 }, "refused the credentials"),
                ]
                for (arguments, environment, message) in failures {
                    let result = try await SwiftletBinary.run(arguments, environment: environment)
                    #expect(result.status == 1, "\(arguments): exit \(result.status)")
                    #expect(result.stderr.hasPrefix("error: "), "\(arguments): \(result.stderr)")
                    #expect(result.stderr.contains(message), "\(arguments): \(result.stderr)")
                    #expect(result.stderr.split(separator: "\n").count == 1, "\(arguments): \(result.stderr)")
                    #expect(result.stdout.isEmpty)
                }
                // Usage errors come from the argument parser (its usage text, exit 64); "-1" reads as an option.
                for arguments in [["scale", "cliscale"], ["scale", "cliscale", "-1"]] {
                    let usage = try await SwiftletBinary.run(arguments, environment: env)
                    #expect(usage.status != 0, "\(arguments)")
                }
                #expect(try await Self.replicas(platform, "cliscale").replicas == 1)
            }
        }

        // MARK: The autoscaler

        @Test("capacity autoscaling: concurrent slow calls scale up to max 3 and back down to 1 when idle")
        func autoscale() async throws {
            try await TestPlatform.with(scheduling: Self.scheduling) { platform in
                try await platform.deployOK(
                    "busy", runtime: "python3", source: Self.whoSleeps,
                    extra: [
                        "labels": ["com.openfaas.scale.max": "3", "com.openfaas.scale.target": "1", "com.openfaas.scale.type": "capacity"]
                    ]
                )
                #expect(try await platform.call("busy").status == 200)
                // Six callers, each call 200 ms: about 6 in flight, target 1, max 3.
                let stop = NIOLockedValueBox(false)
                let load = Task {
                    try await withThrowingTaskGroup(of: [(Int, String)].self) { group in
                        for _ in 0..<6 {
                            group.addTask {
                                var answers: [(Int, String)] = []
                                // At most 50 calls per caller (300 in all): the load stays bounded.
                                while !stop.withLockedValue({ $0 }), answers.count < 50 {
                                    let answer = try await platform.call("busy", path: "?s=0.2")
                                    answers.append((answer.status, answer.text))
                                }
                                return answers
                            }
                        }
                        return try await group.reduce(into: []) { $0 += $1 }
                    }
                }
                var seen: [Int] = []
                let reached = try await eventually(timeout: .seconds(20)) {
                    let status = try await Self.replicas(platform, "busy")
                    seen.append(status.replicas)
                    return status.available == 3
                }
                #expect(reached, "never 3 instances available; replicas seen: \(Set(seen))")
                // Keep the load a little longer: still 3, never more.
                for _ in 0..<10 {
                    seen.append(try await Self.replicas(platform, "busy").replicas)
                    try await Task.sleep(for: .milliseconds(100))
                }
                stop.withLockedValue { $0 = true }
                let answers = try await load.value
                #expect(seen.allSatisfy { $0 >= 1 && $0 <= 3 }, "replicas seen under load: \(Set(seen))")
                #expect(answers.allSatisfy { $0.0 == 200 }, "failed calls under load: \(answers.filter { $0.0 != 200 }.map(\.0))")
                #expect(Set(answers.map(\.1)).count >= 3, "the load reached \(Set(answers.map(\.1)).count) instances")

                // Idle: back to 1 after the 2 s delay; never below 1.
                let clock = ContinuousClock()
                let idleSince = clock.now
                var idle: [Int] = []
                #expect(try await eventually(timeout: .seconds(15)) {
                    let status = try await Self.replicas(platform, "busy")
                    idle.append(status.replicas)
                    return status == (1, 1)
                })
                #expect(clock.now - idleSince >= .milliseconds(1500), "scaled down before the delay")
                for _ in 0..<10 {
                    idle.append(try await Self.replicas(platform, "busy").replicas)
                    try await Task.sleep(for: .milliseconds(100))
                }
                #expect(idle.allSatisfy { $0 >= 1 }, "replicas seen while idle: \(Set(idle))")
                #expect(try await Self.replicas(platform, "busy") == (1, 1))
                #expect(try await platform.call("busy").status == 200)
            }
        }

        // MARK: Scale to zero

        @Test("scale to zero after zero-duration idle; 16 concurrent calls at zero all get 200")
        func scaleToZero() async throws {
            try await TestPlatform.with(scheduling: Self.scheduling) { platform in
                try await platform.deployOK(
                    "sleepy", runtime: "python3", source: Self.whoSleeps,
                    extra: ["labels": ["com.openfaas.scale.zero": "true", "com.openfaas.scale.zero-duration": "2s"]]
                )
                let first = try await platform.call("sleepy")
                #expect(first.status == 200)
                let clock = ContinuousClock()
                let lastCall = clock.now
                #expect(try await eventually(timeout: .seconds(15)) { try await Self.replicas(platform, "sleepy") == (0, 0) })
                #expect(clock.now - lastCall >= .milliseconds(1800), "went to zero before zero-duration")
                // The instance's sandbox is gone (a pooled sandbox takes a function for good).
                let instanceSandbox = "warm-python3-" + (first.text.split(separator: "-").last.map(String.init) ?? "?")
                #expect(try await eventually {
                    let containers = try await platform.containers()
                    return !containers.contains(first.text) && !containers.contains(instanceSandbox)
                })

                let answers = try await Self.burst(platform, "sleepy", count: 16, path: "?s=0.1")
                #expect(answers.count == 16)
                #expect(answers.allSatisfy { $0.status == 200 }, "calls at zero answered \(answers.map(\.status))")
                let status = try await Self.replicas(platform, "sleepy")
                #expect(status.replicas >= 1 && status.available >= 1)
                // …and a single call after that is served at once by the woken instance.
                #expect(try await platform.call("sleepy").status == 200)
            }
        }

        // MARK: Crashes, max_inflight, 429

        @Test("a crash mid-load: only the calls the crashed instance held get 502; it is replaced")
        func crashUnderLoad() async throws {
            try await TestPlatform.with(scheduling: Self.scheduling) { platform in
                try await platform.deployOK(
                    "fragile", runtime: "python3", source: Self.whoSleeps,
                    extra: ["labels": ["com.openfaas.scale.min": "2", "com.openfaas.scale.max": "2"]]
                )
                #expect(try await platform.call("fragile").status == 200)
                #expect(try await eventually(timeout: .seconds(20)) { try await Self.replicas(platform, "fragile") == (2, 2) })

                // Eight calls held 2 s spread over both instances; then one instance crashes.
                let held = Task { try await Self.burst(platform, "fragile", count: 8, path: "?s=2") }
                try await Task.sleep(for: .milliseconds(700))
                let crash = try await platform.call("fragile", path: "/crash")
                #expect(crash.status == 502, "\(crash.status) \(crash.text)")
                let answers = try await held.value
                let ok = answers.filter { $0.status == 200 }
                let failed = answers.filter { $0.status != 200 }
                #expect(failed.allSatisfy { $0.status == 502 }, "statuses: \(answers.map(\.status))")
                #expect(!ok.isEmpty && !failed.isEmpty, "statuses: \(answers.map(\.status))")
                // Every call that succeeded ran on the instance that survived.
                let survivors = Set(ok.map(\.text))
                #expect(survivors.count == 1, "200s came from \(survivors)")
                #expect(failed.count == 4 && ok.count == 4, "held calls split 4/4, the crashed half failed: \(answers.map(\.status))")

                // Replaced: two instances again, one of them new, and no call fails.
                #expect(try await eventually(timeout: .seconds(20)) { try await Self.replicas(platform, "fragile") == (2, 2) })
                #expect(try await eventually(timeout: .seconds(20)) {
                    let pair = try await Self.burst(platform, "fragile", count: 2, path: "?s=0.5")
                    return pair.allSatisfy { $0.status == 200 } && Set(pair.map(\.text)).count == 2
                })
                let after = try await Self.burst(platform, "fragile", count: 10, path: "?s=0.05")
                #expect(after.allSatisfy { $0.status == 200 }, "after the replacement: \(after.map(\.status))")
            }
        }

        @Test("max_inflight=1, max-queue=2, max=1: one call runs, two wait, the rest get 429 with Retry-After")
        func tooManyRequests() async throws {
            try await TestPlatform.with(scheduling: Self.scheduling) { platform in
                try await platform.deployOK(
                    "narrow", runtime: "python3", source: Self.whoSleeps,
                    extra: ["envVars": ["max_inflight": "1"], "labels": ["com.openfaas.scale.max": "1", "com.swiftlet.max-queue": "2"]]
                )
                #expect(try await platform.call("narrow").status == 200)
                let clock = ContinuousClock()
                let start = clock.now
                let answers = try await Self.burst(platform, "narrow", count: 7, path: "?s=1")
                let statuses = answers.map(\.status).sorted()
                #expect(statuses == [200, 200, 200, 429, 429, 429, 429], "\(statuses)")
                #expect(answers.filter { $0.status == 429 }.allSatisfy { $0.retryAfter == "1" })
                #expect(answers.filter { $0.status == 429 }.allSatisfy { $0.text.contains("max-queue") })
                // The three accepted calls ran one after the other.
                #expect(clock.now - start >= .milliseconds(2900))
                #expect(try await platform.call("narrow").status == 200, "accepted again once the queue drained")
            }
        }

        // MARK: The warm pool

        @Test("warm pool: a cold start takes a pooled sandbox that held no function data; it never goes back to the pool")
        func warmPool() async throws {
            try await TestPlatform.with(warmPool: .init(sizes: [.python3: 1]), scheduling: Self.scheduling) { platform in
                let first = try await Self.readyWarmSandbox(platform)
                try Self.expectPristine(platform, first)
                let before = try await Self.poolStatus(platform)
                #expect(before.hits == 0 && before.size == 1)

                try await platform.deployOK(
                    "pooled", runtime: "python3", source: Self.poolProbe,
                    extra: ["envVars": ["POOL_MARKER": "marker-7f3a"], "labels": ["com.openfaas.scale.max": "1"]]
                )
                let answer = try await platform.call("pooled")
                #expect(answer.status == 200, "\(answer.text)")
                let json = try answer.json()
                #expect(json["marker"] as? String == "marker-7f3a")
                #expect(json["name"] as? String == "pooled")
                #expect(json["files"] as? [String] == ["handler.py"])

                // Served from the pool, which refills with a new sandbox.
                #expect(try await Self.poolStatus(platform).hits == before.hits + 1)
                #expect(try await eventually(timeout: .seconds(20)) {
                    let status = try await Self.poolStatus(platform)
                    let warm = try await platform.containers().filter { $0.hasPrefix("warm-python3-") }
                    return status.ready == 1 && warm.count == 2
                })
                let second = try await Self.readyWarmSandbox(platform, excluding: [first])
                #expect(second != first)
                // The new pooled sandbox holds nothing of the function deployed meanwhile…
                try Self.expectPristine(platform, second)
                // …while the taken one is the function's instance now (its code is bound in).
                let takenPid = try Self.pid(platform, first)
                let taken = try FileManager.default.contentsOfDirectory(atPath: "/proc/\(takenPid)/root/home/app/function")
                #expect(taken == ["handler.py"])

                // Removing the function removes its sandbox; the pool keeps only the new one.
                let delete = try await platform.request(
                    .DELETE, "/system/functions", body: ByteBuffer(string: #"{"functionName":"pooled"}"#), headers: Self.json, auth: true
                )
                #expect(delete.status == 200)
                #expect(try await eventually { !(try await platform.containers().contains(first)) })
                try await Task.sleep(for: .milliseconds(500))
                let containers = try await platform.containers()
                #expect(!containers.contains(first), "the specialised sandbox came back: \(containers)")
                #expect(containers == [second], "\(containers)")
                let after = try await Self.poolStatus(platform)
                #expect(after.ready == 1 && after.hits == 1)

                // A second cold start is served from the pool too.
                try await platform.deployOK("pooled2", runtime: "python3", source: Self.poolProbe)
                let again = try await platform.call("pooled2")
                #expect(again.status == 200)
                let marker = try again.json()["marker"]
                #expect(marker == nil || marker is NSNull, "a variable of an earlier function: \(String(describing: marker))")
                #expect(try await Self.poolStatus(platform).hits == 2)
            }
        }

        @Test("with the warm pool disabled the same function works from a cold sandbox")
        func warmPoolDisabled() async throws {
            try await TestPlatform.with(warmPool: .disabled, scheduling: Self.scheduling) { platform in
                try await platform.deployOK(
                    "coldstart", runtime: "python3", source: Self.poolProbe, extra: ["envVars": ["POOL_MARKER": "marker-cold"]]
                )
                let answer = try await platform.call("coldstart")
                #expect(answer.status == 200, "\(answer.text)")
                let json = try answer.json()
                #expect(json["marker"] as? String == "marker-cold")
                #expect(json["files"] as? [String] == ["handler.py"])
                let pool = try await platform.request(.GET, "/system/pool", auth: true)
                #expect(pool.status == 200)
                #expect(pool.text == "[]")
                let containers = try await platform.containers()
                #expect(containers.count == 1 && containers.allSatisfy { $0.hasPrefix("coldstart-") }, "\(containers)")
            }
        }

        // MARK: Warm pool helpers

        struct PoolStatus {
            var size: Int
            var ready: Int
            var hits: Int
            var misses: Int
        }

        /// The python3 entry of `GET /system/pool`.
        static func poolStatus(_ platform: TestPlatform) async throws -> PoolStatus {
            let answer = try await platform.request(.GET, "/system/pool", auth: true)
            #expect(answer.status == 200)
            let list = try #require(try JSONSerialization.jsonObject(with: Data(answer.body.readableBytesView)) as? [[String: Any]])
            let entry = try #require(list.first { $0["runtime"] as? String == "python3" })
            return PoolStatus(
                size: entry["size"] as? Int ?? -1, ready: entry["ready"] as? Int ?? -1, hits: entry["hits"] as? Int ?? -1,
                misses: entry["misses"] as? Int ?? -1
            )
        }

        /// The runc id of the python3 sandbox ready in the pool (not one of `excluding`).
        static func readyWarmSandbox(_ platform: TestPlatform, excluding: Set<String> = []) async throws -> String {
            var found: String?
            let ready = try await eventually(timeout: .seconds(20)) {
                guard try await poolStatus(platform).ready == 1 else { return false }
                found = try await platform.containers().first { $0.hasPrefix("warm-python3-") && !excluding.contains($0) }
                return found != nil
            }
            #expect(ready, "no warm python3 sandbox became ready")
            return try #require(found)
        }

        /// The host pid of sandbox `id`'s runner, from the pid file runc wrote in its bundle.
        static func pid(_ platform: TestPlatform, _ id: String) throws -> Int32 {
            let text = try String(contentsOfFile: platform.host.runDirectory + "/bundles/\(id)/pid", encoding: .utf8)
            return try #require(Int32(text.trimmingCharacters(in: .whitespacesAndNewlines)))
        }

        /// Checks from the host that the pooled sandbox `id` holds no function's code or variables.
        static func expectPristine(_ platform: TestPlatform, _ id: String) throws {
            let pid = try Self.pid(platform, id)
            let code = try FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/root/home/app/function")
            #expect(code.isEmpty, "the warm sandbox \(id) has function files: \(code)")
            let environ = try Data(contentsOf: URL(fileURLWithPath: "/proc/\(pid)/environ"))
            let variables = environ.split(separator: 0).map { String(decoding: $0, as: UTF8.self) }
            #expect(variables.contains("SWIFTLET_WARM=1"), "not a warm runner: \(variables)")
            let names = Set(variables.map { String($0.prefix { $0 != "=" }) })
            #expect(!names.contains("POOL_MARKER") && !names.contains("SWIFTLET_FUNCTION_NAME"), "function variables: \(variables)")
            #expect(!variables.contains { $0.contains("marker-") || $0.contains("pooled") }, "function data: \(variables)")
            let secrets = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/root/var/openfaas/secrets")) ?? []
            #expect(secrets.isEmpty, "secrets in a warm sandbox: \(secrets)")
        }
    }
}
