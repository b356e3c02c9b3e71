import AsyncHTTPClient
import Foundation
import Hummingbird
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import ServiceLifecycle
import Testing

extension EndToEnd {
    /// Async calls over real sandboxes: callbacks to a loopback receiver, failures, retries and
    /// dead letters, scale from zero, 1,000 calls none lost or doubled, and the CLI.
    @Suite("End to end: async calls", .timeLimit(.minutes(5)))
    struct AsyncTests {
        /// Answers with its own headers, and a body naming what it saw.
        static let echo = #"""
            def handle(event, context):
                text = "got %s call %s path %s q %s" % (
                    (event.body or b"").decode(), event.headers.get("X-Call-Id", ""), event.path, event.query.get("q", ""))
                return {"statusCode": 200, "headers": {"X-Handler": "yes", "Content-Type": "text/plain"}, "body": text}
            """#

        /// Answers 503 until the function's environment says `MODE=ok`.
        static let flaky = #"""
            import os
            def handle(event, context):
                if os.environ.get("MODE") == "ok":
                    return {"statusCode": 200, "body": "recovered"}
                return {"statusCode": 503, "headers": {"X-Attempt": event.headers.get("X-Swiftlet-Attempt", "")}, "body": "down"}
            """#

        /// Always answers 400.
        static let badRequest = #"""
            def handle(event, context):
                return {"statusCode": 400, "body": "bad input"}
            """#

        /// Returns the request body.
        static let mirror = #"""
            def handle(event, context):
                return {"statusCode": 200, "body": event.body}
            """#

        /// Queues a call to `target` (`name[/path][?query]`) with a callback URL; returns the answer.
        static func enqueue(
            _ platform: TestPlatform, _ target: String, body: String = "", callback: String?, headers: [(String, String)] = []
        ) async throws -> TestPlatform.Answer {
            try await platform.request(
                .POST, "/async-function/" + target, body: ByteBuffer(string: body), headers: headers + (callback.map { [("X-Callback-Url", $0)] } ?? [])
            )
        }

        /// Queues a call and returns its id, expecting 202.
        static func enqueueID(_ platform: TestPlatform, _ target: String, body: String = "", callback: String?) async throws -> String {
            let answer = try await enqueue(platform, target, body: body, callback: callback)
            #expect(answer.status == 202, "\(answer.status) \(answer.text)")
            return try #require(answer.headers.first(name: "X-Call-Id"))
        }

        /// `GET /system/async/{id}` as JSON.
        static func report(_ platform: TestPlatform, _ id: String) async throws -> [String: Any] {
            let answer = try await platform.request(.GET, "/system/async/\(id)", auth: true)
            #expect(answer.status == 200, "\(answer.text)")
            return try answer.json()
        }

        /// Waits until call `id` is in `status` (a final one); returns its report.
        static func waitFor(_ platform: TestPlatform, _ id: String, status: String, timeout: Duration = .seconds(60)) async throws -> [String: Any] {
            var last: [String: Any] = [:]
            let reached = try await eventually(timeout: timeout) {
                last = try await report(platform, id)
                return last["status"] as? String == status
            }
            #expect(reached, "call \(id) is \(last["status"] ?? "?") (wanted \(status)): \(last)")
            return last
        }

        /// A client with up to 64 connections to one host, for bursts of calls. Never shut down,
        /// like `HTTPClient.shared`.
        static let client: HTTPClient = {
            var configuration = HTTPClient.Configuration()
            configuration.connectionPool.concurrentHTTP1ConnectionsPerHostSoftLimit = 64
            return HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
        }()

        // MARK: Callbacks

        @Test("a callback carries X-Call-Id, X-Function-Name, X-Function-Status, X-Duration-Seconds and the function's answer")
        func callbackSucceeds() async throws {
            try await CallbackReceiver.with { receiver in
                try await TestPlatform.with { platform in
                    try await platform.deployOK("cb-echo", runtime: "python3", source: Self.echo)
                    let id = try await Self.enqueueID(platform, "cb-echo/sub?q=7", body: "hello", callback: receiver.url)
                    #expect(try await eventually(timeout: .seconds(60)) { receiver.count(of: id) >= 1 }, "no callback arrived")
                    let callback = try #require(receiver.callbacks(of: id).first)
                    let expectedBody = "got hello call \(id) path /sub q 7"
                    #expect(callback.values("X-Call-Id") == [id])
                    #expect(callback.values("X-Function-Name") == ["cb-echo"])
                    #expect(callback.values("X-Function-Status") == ["200"])
                    let duration = try #require(callback.values("X-Duration-Seconds").first.flatMap(Double.init), "\(callback.headers)")
                    #expect(duration >= 0 && duration < 60)
                    #expect(callback.values("X-Duration-Seconds").count == 1)
                    #expect(callback.values("X-Handler") == ["yes"])
                    #expect(callback.values("Content-Type") == ["text/plain"])
                    #expect(callback.path == "/callback")
                    #expect(String(decoding: callback.body, as: UTF8.self) == expectedBody)

                    let report = try await Self.waitFor(platform, id, status: "succeeded")
                    #expect(report["attempts"] as? Int == 1)
                    #expect(report["function"] as? String == "cb-echo")
                    let result = try #require(report["result"] as? [String: Any])
                    #expect(result["status"] as? Int == 200)
                    #expect(result["body"] as? String == expectedBody)
                    #expect(try await eventually {
                        (try await Self.report(platform, id)["callback"] as? [String: Any])?["status"] as? String == "delivered"
                    })
                    // A call without a callback URL runs too, and nothing is POSTed for it.
                    let quiet = try await Self.enqueueID(platform, "cb-echo", body: "quiet", callback: nil)
                    let quietReport = try await Self.waitFor(platform, quiet, status: "succeeded")
                    #expect(quietReport["callback"] == nil)
                    try await Task.sleep(for: .milliseconds(500))
                    #expect(receiver.count(of: quiet) == 0)
                    #expect(receiver.count(of: id) == 1)
                }
            }
        }

        @Test("a function answering 400 fails after exactly one attempt; the callback says 400")
        func finalFailure() async throws {
            try await CallbackReceiver.with { receiver in
                try await TestPlatform.with { platform in
                    try await platform.deployOK("cb-bad", runtime: "python3", source: Self.badRequest)
                    let id = try await Self.enqueueID(platform, "cb-bad", body: "x", callback: receiver.url)
                    let report = try await Self.waitFor(platform, id, status: "failed")
                    #expect(report["attempts"] as? Int == 1)
                    #expect((report["result"] as? [String: Any])?["status"] as? Int == 400)
                    #expect((report["lastError"] as? String)?.contains("400") == true)
                    #expect(try await eventually(timeout: .seconds(30)) { receiver.count(of: id) >= 1 })
                    let callback = try #require(receiver.callbacks(of: id).first)
                    #expect(callback.values("X-Function-Status") == ["400"])
                    #expect(String(decoding: callback.body, as: UTF8.self) == "bad input")
                    try await Task.sleep(for: .seconds(1))
                    #expect(try await Self.report(platform, id)["attempts"] as? Int == 1, "a 400 is never retried")
                    #expect(receiver.count(of: id) == 1)
                }
            }
        }

        @Test("a function answering 503 is dead after max-attempts 3; retry re-queues it with fresh attempts")
        func deadLetterAndRetry() async throws {
            try await CallbackReceiver.with { receiver in
                try await TestPlatform.with { platform in
                    let labels = ["com.swiftlet.async.max-attempts": "3"]
                    try await platform.deployOK("cb-flaky", runtime: "python3", source: Self.flaky, extra: ["labels": labels])
                    let id = try await Self.enqueueID(platform, "cb-flaky", body: "x", callback: receiver.url)
                    let report = try await Self.waitFor(platform, id, status: "dead")
                    #expect(report["attempts"] as? Int == 3)
                    #expect(report["maxAttempts"] as? Int == 3)
                    let result = try #require(report["result"] as? [String: Any])
                    #expect(result["status"] as? Int == 503)
                    #expect((result["headers"] as? [[String: String]])?.contains(["name": "X-Attempt", "value": "3"]) == true, "\(result)")
                    #expect(try await eventually(timeout: .seconds(30)) { receiver.count(of: id) >= 1 })
                    let callback = try #require(receiver.callbacks(of: id).first)
                    #expect(callback.values("X-Function-Status") == ["503"])
                    #expect(String(decoding: callback.body, as: UTF8.self) == "down")
                    #expect(receiver.count(of: id) == 1, "only the final outcome is POSTed")

                    // Fix the function, then re-queue the dead call.
                    let update = try await platform.deploy(
                        "cb-flaky", runtime: "python3", code: Data(Self.flaky.utf8), extra: ["labels": labels, "envVars": ["MODE": "ok"]], method: .PUT
                    )
                    #expect(update.status == 200 || update.status == 202, "\(update.text)")
                    #expect(try await eventually(timeout: .seconds(30)) { try await platform.call("cb-flaky").text == "recovered" })
                    let retry = try await platform.request(.POST, "/system/async/\(id)/retry", auth: true)
                    #expect(retry.status == 202, "\(retry.text)")
                    let requeued = try retry.json()
                    #expect(requeued["status"] as? String == "queued" && requeued["attempts"] as? Int == 0)
                    let done = try await Self.waitFor(platform, id, status: "succeeded")
                    #expect(done["attempts"] as? Int == 1, "attempts start again from zero")
                    #expect((done["result"] as? [String: Any])?["body"] as? String == "recovered")
                    #expect(try await eventually(timeout: .seconds(30)) { receiver.count(of: id) == 2 })
                    let second = try #require(receiver.callbacks(of: id).last)
                    #expect(second.values("X-Function-Status") == ["200"])
                    #expect(String(decoding: second.body, as: UTF8.self) == "recovered")
                    let again = try await platform.request(.POST, "/system/async/\(id)/retry", auth: true)
                    #expect(again.status == 409, "a succeeded call is not retried: \(again.text)")
                }
            }
        }

        @Test("a function scaled to zero is started for an async call")
        func scaleFromZero() async throws {
            try await CallbackReceiver.with { receiver in
                try await TestPlatform.with(scheduling: EndToEnd.ScalingTests.scheduling) { platform in
                    try await platform.deployOK(
                        "cb-zero", runtime: "python3", source: Handlers.version("woke"),
                        extra: ["labels": ["com.openfaas.scale.zero": "true", "com.openfaas.scale.zero-duration": "2s"]]
                    )
                    #expect(try await platform.call("cb-zero").text == "woke")
                    let scaled = try await EndToEnd.ScalingTests.scale(platform, "cb-zero", #"{"serviceName":"cb-zero","replicas":0}"#)
                    #expect(scaled.status == 202 || scaled.status == 200, "\(scaled.text)")
                    #expect(try await eventually(timeout: .seconds(20)) { try await EndToEnd.ScalingTests.replicas(platform, "cb-zero") == (0, 0) })

                    let id = try await Self.enqueueID(platform, "cb-zero", callback: receiver.url)
                    let report = try await Self.waitFor(platform, id, status: "succeeded")
                    #expect(report["attempts"] as? Int == 1)
                    #expect((report["result"] as? [String: Any])?["body"] as? String == "woke")
                    #expect(try await eventually(timeout: .seconds(30)) { receiver.count(of: id) == 1 })
                    #expect(receiver.callbacks(of: id).first?.values("X-Function-Status") == ["200"])
                }
            }
        }

        @Test("1,000 async calls, 32 at a time: every one succeeds once and calls back exactly once")
        func thousandCalls() async throws {
            try await CallbackReceiver.with { receiver in
                try await TestPlatform.with { platform in
                    try await platform.deployOK(
                        "cb-many", runtime: "python3", source: Self.mirror, extra: ["labels": ["com.swiftlet.async.concurrency": "8"]]
                    )
                    let clock = ContinuousClock()
                    let deadline = clock.now + .seconds(120)
                    let accepted = try await Self.fire(count: 1000, concurrency: 32, url: platform.baseURL + "/async-function/cb-many", callback: receiver.url)
                    #expect(accepted.failures.isEmpty, "refused or failed: \(accepted.failures.prefix(5))")
                    #expect(accepted.ids.count == 1000)
                    #expect(Set(accepted.ids.keys).count == 1000, "every call has its own id")

                    let all = try await eventually(timeout: deadline - clock.now) {
                        accepted.ids.keys.allSatisfy { receiver.count(of: $0) >= 1 }
                    }
                    let missing = accepted.ids.keys.filter { receiver.count(of: $0) == 0 }
                    #expect(all && missing.isEmpty, "\(missing.count) callbacks missing, e.g. \(missing.prefix(3))")
                    // Let any stray redelivery show up before counting.
                    try await Task.sleep(for: .seconds(1))
                    let doubled = accepted.ids.keys.filter { receiver.count(of: $0) > 1 }
                    #expect(doubled.isEmpty, "\(doubled.count) callbacks arrived more than once")
                    #expect(receiver.total == 1000, "callbacks for ids never acknowledged: \(receiver.total - 1000)")
                    for (id, body) in accepted.ids {
                        let callback = receiver.callbacks(of: id).first
                        #expect(callback.map { String(decoding: $0.body, as: UTF8.self) } == body)
                        #expect(callback?.values("X-Function-Status") == ["200"])
                    }

                    let list = try await platform.request(.GET, "/system/async?function=cb-many&limit=1000", auth: true)
                    let json = try list.json()
                    #expect(json["counts"] as? [String: Int] == ["queued": 0, "running": 0, "succeeded": 1000, "failed": 0, "dead": 0])
                    let calls = try #require(json["calls"] as? [[String: Any]])
                    #expect(calls.count == 1000)
                    #expect(calls.allSatisfy { $0["attempts"] as? Int == 1 }, "some calls took more than one attempt")
                    #expect(Set(calls.compactMap { $0["callId"] as? String }) == Set(accepted.ids.keys))
                    #expect(try await eventually {
                        let list = try await platform.request(.GET, "/system/async?function=cb-many&limit=1000", auth: true)
                        let calls = try list.json()["calls"] as? [[String: Any]] ?? []
                        return calls.allSatisfy { ($0["callback"] as? [String: Any])?["status"] as? String == "delivered" }
                    }, "every callback is recorded as delivered")
                    #expect(clock.now < deadline, "the 1,000 calls took longer than 120 s")
                }
            }
        }

        /// What a burst of async calls got: the id of each acknowledged call with the body it sent,
        /// and what went wrong with the others.
        struct Burst: Sendable {
            var ids: [String: String] = [:]
            var failures: [String] = []
        }

        /// POSTs `count` calls to `url` (bodies `call-N`), `concurrency` at a time, each with the
        /// callback URL.
        static func fire(count: Int, concurrency: Int, url: String, callback: String) async throws -> Burst {
            let next = NIOLockedValueBox(0)
            return try await withThrowingTaskGroup(of: Burst.self) { group in
                for _ in 0..<concurrency {
                    group.addTask {
                        var burst = Burst()
                        while true {
                            let index = next.withLockedValue { value -> Int in
                                defer { value += 1 }
                                return value
                            }
                            guard index < count else { return burst }
                            let body = "call-\(index)"
                            var request = HTTPClientRequest(url: url)
                            request.method = .POST
                            request.headers.add(name: "X-Callback-Url", value: callback)
                            request.body = .bytes(ByteBuffer(string: body))
                            do {
                                let response = try await client.execute(request, timeout: .seconds(30))
                                _ = try await response.body.collect(upTo: 64 * 1024)
                                if response.status == .accepted, let id = response.headers.first(name: "X-Call-Id") {
                                    burst.ids[id] = body
                                } else {
                                    burst.failures.append("\(index): HTTP \(response.status.code)")
                                }
                            } catch {
                                burst.failures.append("\(index): \(error)")
                            }
                        }
                    }
                }
                return try await group.reduce(into: Burst()) { total, part in
                    total.ids.merge(part.ids) { first, _ in first }
                    total.failures += part.failures
                }
            }
        }

        // MARK: The CLI

        @Test("swiftlet invoke --async, calls, call and call --body; bad input exits non-zero with a clear message")
        func cli() async throws {
            try await CallbackReceiver.with { receiver in
                try await TestPlatform.with { platform in
                    try await platform.deployOK("cli-async", runtime: "python3", source: Self.mirror)
                    let env = ["SWIFTLET_URL": platform.baseURL, "SWIFTLET_USER": "admin", "SWIFTLET_PASSWORD": platform.credentials.password]

                    let invoke = try await SwiftletBinary.run(
                        ["invoke", "cli-async", "--async", "--data", "payload from the cli", "--callback-url", receiver.url], environment: env
                    )
                    #expect(invoke.status == 0, "\(invoke.stderr)")
                    let id = invoke.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
                    #expect(UUID(uuidString: id) != nil, "stdout is the call id: '\(invoke.stdout)'")
                    #expect(invoke.stdout == id + "\n")
                    _ = try await Self.waitFor(platform, id, status: "succeeded")
                    #expect(try await eventually(timeout: .seconds(30)) { receiver.count(of: id) == 1 })
                    #expect(receiver.callbacks(of: id).first.map { String(decoding: $0.body, as: UTF8.self) } == "payload from the cli")

                    // Through --gateway instead of the environment, with stdin as the body.
                    let gatewayFlag = try await SwiftletBinary.run(["invoke", "cli-async", "--async", "--gateway", platform.baseURL], stdin: "from stdin")
                    #expect(gatewayFlag.status == 0, "\(gatewayFlag.stderr)")
                    let second = gatewayFlag.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
                    _ = try await Self.waitFor(platform, second, status: "succeeded")

                    let calls = try await SwiftletBinary.run(["calls", "cli-async"], environment: env)
                    #expect(calls.status == 0, "\(calls.stderr)")
                    #expect(calls.stdout.contains("succeeded 2"), "\(calls.stdout)")
                    #expect(calls.stdout.contains(id) && calls.stdout.contains(second), "\(calls.stdout)")
                    let failedOnly = try await SwiftletBinary.run(["calls", "cli-async", "--status", "failed", "--limit", "5"], environment: env)
                    #expect(failedOnly.status == 0, "\(failedOnly.stderr)")
                    #expect(failedOnly.stdout.contains("failed 0") && !failedOnly.stdout.contains(id), "\(failedOnly.stdout)")
                    let everything = try await SwiftletBinary.run(["calls"], environment: env)
                    #expect(everything.stdout.contains(id), "\(everything.stdout)")

                    let show = try await SwiftletBinary.run(["call", id], environment: env)
                    #expect(show.status == 0, "\(show.stderr)")
                    for text in [id, "cli-async", "succeeded", "1 of 5", "POST /", "HTTP 200", "payload from the cli", receiver.url] {
                        #expect(show.stdout.contains(text), "'\(text)' missing from:\n\(show.stdout)")
                    }
                    let body = try await SwiftletBinary.run(["call", id, "--body"], environment: env)
                    #expect(body.status == 0, "\(body.stderr)")
                    #expect(body.stdout == "payload from the cli", "the answer byte for byte")
                    let secondBody = try await SwiftletBinary.run(["call", second, "--body"], environment: env)
                    #expect(secondBody.stdout == "from stdin")

                    let wrongPassword = env.merging(["SWIFTLET_PASSWORD": "wrong"]) { $1 }
                    let failures: [([String], [String: String], String)] = [
                        (["invoke", "cli-async", "--async", "--method", "GET"], env, "--async calls are POST requests"),
                        (["invoke", "cli-async", "--callback-url", receiver.url, "--data", "x"], env, "--callback-url needs --async"),
                        (["invoke", "cli-async", "--async", "--callback-url", "ftp://127.0.0.1/x", "--data", "x"], env, "X-Callback-Url"),
                        (["invoke", "nothing-here", "--async", "--data", "x"], env, "not found"),
                        (["call", "no-such-call-id"], env, "not found"),
                        (["call", "has space"], env, "call id"),
                        (["call", id, "--retry"], env, "only dead or failed"),
                        (["call", id, "--body", "--retry"], env, "either --body or --retry"),
                        (["calls", "--status", "bogus"], env, "--status"),
                        (["calls", "--limit", "5000"], env, "--limit"),
                        (["calls", "Bad_Name"], env, "invalid function name"),
                        (["call", id], wrongPassword, "refused the credentials"),
                    ]
                    for (arguments, environment, message) in failures {
                        let result = try await SwiftletBinary.run(arguments, environment: environment)
                        #expect(result.status != 0, "\(arguments) exited 0: \(result.stdout)")
                        #expect(result.stderr.contains(message), "\(arguments): \(result.stderr)")
                    }
                    let anonymous = try await SwiftletBinary.run(["calls", "--gateway", platform.baseURL])
                    #expect(anonymous.status != 0, "listing calls needs credentials")
                    #expect(try await Self.report(platform, id)["status"] as? String == "succeeded", "nothing above changed the call")
                }
            }
        }
    }
}

/// A loopback HTTP server (Hummingbird on 127.0.0.1, a free port) that records every callback:
/// its path, headers and body. Always stopped by ``with(_:)``.
final class CallbackReceiver: Sendable {
    /// One received callback.
    struct Callback: Sendable {
        var path: String
        var headers: [(name: String, value: String)]
        var body: Data

        /// Every value of header `name` (any case), in order.
        func values(_ name: String) -> [String] {
            headers.filter { $0.name.lowercased() == name.lowercased() }.map(\.value)
        }
    }

    let port: Int
    private let received: NIOLockedValueBox<(all: [Callback], byID: [String: [Callback]])>
    private let group: ServiceGroup
    private let task: Task<Void, any Error>

    /// Where functions' results go.
    var url: String { "http://127.0.0.1:\(port)/callback" }

    private init(port: Int, received: NIOLockedValueBox<(all: [Callback], byID: [String: [Callback]])>, group: ServiceGroup, task: Task<Void, any Error>) {
        self.port = port
        self.received = received
        self.group = group
        self.task = task
    }

    /// Starts a receiver.
    static func start() async throws -> CallbackReceiver {
        let received = NIOLockedValueBox<(all: [Callback], byID: [String: [Callback]])>(([], [:]))
        let router = Router()
        router.post("/callback") { request, _ -> HTTPResponse.Status in
            let body = try await request.body.collect(upTo: 64 * 1024 * 1024)
            let callback = Callback(
                path: request.uri.path, headers: request.headers.map { ($0.name.rawName, $0.value) }, body: Data(body.readableBytesView)
            )
            let id = callback.values("X-Call-Id").first ?? ""
            received.withLockedValue { state in
                state.all.append(callback)
                state.byID[id, default: []].append(callback)
            }
            return .ok
        }
        var logger = Logger(label: "callback-receiver")
        logger.logLevel = .error
        let (ports, continuation) = AsyncStream.makeStream(of: Int.self)
        let app = Application(
            router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0), serverName: "callback-receiver"),
            onServerRunning: { channel in
                continuation.yield(channel.localAddress?.port ?? 0)
                continuation.finish()
            },
            logger: logger
        )
        let group = ServiceGroup(configuration: .init(services: [app], logger: logger))
        let task = Task { try await group.run() }
        guard let port = await ports.first(where: { _ in true }), port > 0 else {
            await group.triggerGracefulShutdown()
            _ = try? await task.value
            throw TestFailure("the callback receiver did not start")
        }
        return CallbackReceiver(port: port, received: received, group: group, task: task)
    }

    /// Stops the server.
    func stop() async {
        await group.triggerGracefulShutdown()
        _ = try? await task.value
    }

    /// Runs `body` with a fresh receiver and always stops it.
    static func with<T>(_ body: (CallbackReceiver) async throws -> T) async throws -> T {
        let receiver = try await start()
        do {
            let result = try await body(receiver)
            await receiver.stop()
            return result
        } catch {
            await receiver.stop()
            throw error
        }
    }

    /// The callbacks for call `id`, in arrival order.
    func callbacks(of id: String) -> [Callback] { received.withLockedValue { $0.byID[id] ?? [] } }

    /// How many callbacks arrived for call `id`.
    func count(of id: String) -> Int { received.withLockedValue { $0.byID[id]?.count ?? 0 } }

    /// How many callbacks arrived in all.
    var total: Int { received.withLockedValue { $0.all.count } }

    /// How many callbacks arrived per call id.
    var counts: [String: Int] { received.withLockedValue { $0.byID.mapValues(\.count) } }
}
