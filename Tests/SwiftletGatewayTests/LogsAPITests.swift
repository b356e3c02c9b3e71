import AsyncHTTPClient
import Foundation
import HTTPTypes
import HummingbirdTesting
import HummingbirdWSTesting
import Logging
import NIOCore
import SwiftletCore
import SwiftletGateway
import SwiftletLogs
import SwiftletScheduler
import SwiftletStore
import Testing

/// `GET /system/logs` (NDJSON, tail/since/instance/follow) and `GET /system/logs/ws` through the
/// real application, over a memory store, the fake provider and a log store in a temporary folder.
@Suite("Logs API")
struct LogsAPITests {
    static let credentials = BasicCredentials(user: "admin", password: "pw-\(UUID().uuidString)")
    static let authorization = "Basic " + Data("\(credentials.user):\(credentials.password)".utf8).base64EncodedString()
    static let auth: HTTPFields = [.authorization: authorization]

    struct Harness: Sendable {
        let client: any TestClientProtocol
        let logs: FunctionLogStore
    }

    /// Runs `body` against an application serving the function `fn` (no lines yet).
    static func withAPI(_ testing: TestingSetup = .router, _ body: @escaping @Sendable (Harness) async throws -> Void) async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("swiftlet-logs-api-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let logger = Logger(label: "logs-api-test")
        let store = MemoryStore()
        try await store.insertFunction(FunctionSpec(name: "fn", runtime: .python3, codeDigest: "none"), code: Data())
        let logs = FunctionLogStore(configuration: .init(directory: directory), logger: logger)
        let scheduler = Scheduler(provider: FakeProvider(), logger: logger)
        let app = buildApplication(
            configuration: GatewayConfiguration(port: 0, credentials: credentials, uploadDirectory: directory + "/uploads"),
            store: store, scheduler: scheduler, provider: FakeProvider(), logs: logs, logger: logger
        )
        try await app.test(testing) { client in
            try await body(Harness(client: client, logs: logs))
        }
        logs.stop()
    }

    static func lines(_ response: TestResponse) throws -> [[String: String]] {
        try String(buffer: response.body).split(separator: "\n").map { line in
            try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: String])
        }
    }

    static func entry(_ text: String, instance: String = "fn-1", seconds: Int64? = nil) -> LogEntry {
        LogEntry(timestamp: seconds.map { $0 * 1_000_000_000 } ?? RFC3339.now(), instance: instance, stream: .stdout, text: text)
    }

    @Test("NDJSON with the OpenFaaS fields, tail, since and instance")
    func ndjson() async throws {
        try await Self.withAPI { api in
            for index in 0..<6 {
                try await api.logs.append(
                    Self.entry("line \(index)", instance: index < 3 ? "fn-a" : "fn-b", seconds: 1_700_000_000 + Int64(index)),
                    function: "fn")
            }
            let all = try await api.client.execute(uri: "/system/logs?name=fn", method: .get, headers: Self.auth)
            #expect(all.status == .ok)
            #expect(all.headers[.contentType] == "application/x-ndjson")
            let lines = try Self.lines(all)
            #expect(lines.count == 6)
            #expect(
                lines.first == [
                    "name": "fn", "namespace": "openfaas-fn", "instance": "fn-a", "timestamp": "2023-11-14T22:13:20.000000000Z",
                    "text": "line 0",
                ])
            let tail = try await api.client.execute(uri: "/system/logs?name=fn.openfaas-fn&tail=2", method: .get, headers: Self.auth)
            #expect(try Self.lines(tail).map { $0["text"] } == ["line 4", "line 5"])
            let everything = try await api.client.execute(
                uri: "/system/logs?name=fn&tail=-1&follow=false", method: .get, headers: Self.auth)
            #expect(try Self.lines(everything).count == 6)
            let since = try await api.client.execute(
                uri: "/system/logs?name=fn&since=2023-11-14T23:13:24%2B01:00", method: .get, headers: Self.auth)
            #expect(try Self.lines(since).map { $0["text"] } == ["line 4", "line 5"])
            let future = try await api.client.execute(
                uri: "/system/logs?name=fn&since=2999-01-01T00:00:00Z", method: .get, headers: Self.auth)
            #expect(future.status == .ok && future.body.readableBytes == 0)
            let instance = try await api.client.execute(uri: "/system/logs?name=fn&instance=fn-a&tail=1", method: .get, headers: Self.auth)
            #expect(try Self.lines(instance).map { $0["text"] } == ["line 2"])
        }
    }

    @Test("400 without a name, 422 for an unparsable tail, since or follow, 404 for an unknown function, 401 without auth")
    func badRequests() async throws {
        try await Self.withAPI { api in
            #expect(try await api.client.execute(uri: "/system/logs", method: .get, headers: Self.auth).status == .badRequest)
            #expect(try await api.client.execute(uri: "/system/logs?name=", method: .get, headers: Self.auth).status == .badRequest)
            #expect(
                try await api.client.execute(uri: "/system/logs?name=fn&tail=ten", method: .get, headers: Self.auth).status
                    == .unprocessableContent)
            #expect(
                try await api.client.execute(uri: "/system/logs?name=fn&since=yesterday", method: .get, headers: Self.auth).status
                    == .unprocessableContent)
            #expect(
                try await api.client.execute(uri: "/system/logs?name=fn&follow=maybe", method: .get, headers: Self.auth).status
                    == .unprocessableContent)
            #expect(try await api.client.execute(uri: "/system/logs?name=nope", method: .get, headers: Self.auth).status == .notFound)
            #expect(
                try await api.client.execute(uri: "/system/logs?name=fn.other-ns", method: .get, headers: Self.auth).status == .notFound)
            let anonymous = try await api.client.execute(uri: "/system/logs?name=fn", method: .get)
            #expect(anonymous.status == .unauthorized)
            #expect(anonymous.headers[.wwwAuthenticate] == "Basic realm=\"Restricted\"")
            let wrong = try await api.client.execute(
                uri: "/system/logs?name=fn", method: .get,
                headers: [.authorization: "Basic " + Data("admin:wrong".utf8).base64EncodedString()]
            )
            #expect(wrong.status == .unauthorized)
        }
    }

    @Test("follow streams history, then lines written later (also from a replacement instance), and lets go when the client leaves")
    func follow() async throws {
        try await Self.withAPI(.live) { api in
            try await api.logs.append(Self.entry("before", instance: "fn-old"), function: "fn")
            let port = try #require(api.client.port)
            var request = HTTPClientRequest(url: "http://127.0.0.1:\(port)/system/logs?name=fn&follow=true&tail=1")
            request.headers.add(name: "Authorization", value: Self.authorization)
            let response = try await HTTPClient.shared.execute(request, timeout: .seconds(30))
            #expect(response.status == .ok)
            let (received, continuation) = AsyncStream.makeStream(of: String.self)
            let reader = Task {
                var pending = ""
                for try await chunk in response.body {
                    pending += String(buffer: chunk)
                    while let newline = pending.firstIndex(of: "\n") {
                        continuation.yield(String(pending[..<newline]))
                        pending = String(pending[pending.index(after: newline)...])
                    }
                }
                continuation.finish()
            }
            var lines = received.makeAsyncIterator()
            #expect(await lines.next()?.contains("\"text\":\"before\"") == true)
            #expect(api.logs.followerCount(function: "fn") == 1)
            try await api.logs.append(Self.entry("after connect", instance: "fn-old"), function: "fn")
            #expect(await lines.next()?.contains("\"text\":\"after connect\"") == true)
            // The instance is replaced: the new one's lines reach the same follower.
            try await api.logs.append(Self.entry("from the replacement", instance: "fn-new"), function: "fn")
            let replaced = try #require(await lines.next())
            #expect(replaced.contains("\"instance\":\"fn-new\"") && replaced.contains("from the replacement"))
            // The client goes away: the follower is dropped (no task or subscription leaks).
            reader.cancel()
            _ = await reader.result
            try await Self.eventually { api.logs.followerCount(function: "fn") == 0 }
        }
    }

    @Test("the WebSocket streams lines written after it connected, with auth")
    func webSocket() async throws {
        try await Self.withAPI(.live) { api in
            try await api.logs.append(Self.entry("history"), function: "fn")
            let logs = api.logs
            let (received, continuation) = AsyncStream.makeStream(of: String.self)
            try await api.client.ws("/system/logs/ws?name=fn&tail=1", configuration: .init(additionalHeaders: Self.auth)) {
                inbound, outbound, _ in
                var messages = inbound.messages(maxSize: 1 << 20).makeAsyncIterator()
                if case .text(let first) = try await messages.next() { continuation.yield(first) }
                try await Self.eventually { logs.followerCount(function: "fn") == 1 }
                try await logs.append(Self.entry("live line", instance: "fn-2"), function: "fn")
                if case .text(let second) = try await messages.next() { continuation.yield(second) }
                continuation.finish()
                try await outbound.close(.normalClosure, reason: nil)
            }
            let texts = await collect(received)
            #expect(texts.count == 2)
            #expect(texts.first?.contains("\"text\":\"history\"") == true)
            #expect(texts.last?.contains("\"text\":\"live line\"") == true && texts.last?.contains("\"instance\":\"fn-2\"") == true)
            try await Self.eventually { logs.followerCount(function: "fn") == 0 }
            // Without credentials the upgrade is refused.
            await #expect(throws: (any Error).self) {
                try await api.client.ws("/system/logs/ws?name=fn") { _, _, _ in }
            }
            #expect(logs.followerCount(function: "fn") == 0)
        }
    }

    @Test("the WebSocket takes API tokens like /system/logs: deploy or admin scope streams; invoke-only is refused; garbage and revoked tokens are refused")
    func webSocketTokens() async throws {
        try await Self.withAPI(.live) { api in
            try await api.logs.append(Self.entry("for tokens"), function: "fn")
            func token(_ name: String, _ scopes: [String]) async throws -> String {
                let body = try JSONSerialization.data(withJSONObject: ["name": name, "scopes": scopes])
                var headers = Self.auth
                headers[.contentType] = "application/json"
                let answer = try await api.client.execute(uri: "/system/tokens", method: .post, headers: headers, body: ByteBuffer(bytes: body))
                #expect(answer.status == .created, "\(String(buffer: answer.body))")
                let json = try #require(try JSONSerialization.jsonObject(with: Data(answer.body.readableBytesView)) as? [String: Any])
                return try #require(json["token"] as? String)
            }
            func firstLine(_ bearer: String) async throws -> String? {
                let (received, continuation) = AsyncStream.makeStream(of: String.self)
                try await api.client.ws(
                    "/system/logs/ws?name=fn&tail=1", configuration: .init(additionalHeaders: [.authorization: "Bearer " + bearer])
                ) { inbound, outbound, _ in
                    var messages = inbound.messages(maxSize: 1 << 20).makeAsyncIterator()
                    if case .text(let first) = try await messages.next() { continuation.yield(first) }
                    continuation.finish()
                    try await outbound.close(.normalClosure, reason: nil)
                }
                return await collect(received).first
            }
            let deployer = try await token("logs-reader", ["deploy"])
            let admin = try await token("logs-admin", ["admin"])
            let invoker = try await token("caller", ["invoke:fn"])
            #expect(try await firstLine(deployer)?.contains("for tokens") == true)
            #expect(try await firstLine(admin)?.contains("for tokens") == true)
            for refused in [invoker, "swl_000000000000_" + String(repeating: "A", count: 43), "", String(repeating: "x", count: 9000)] {
                await #expect(throws: (any Error).self, "\(refused.prefix(20))") { _ = try await firstLine(refused) }
            }
            let revoked = try await api.client.execute(uri: "/system/tokens/logs-reader", method: .delete, headers: Self.auth)
            #expect(revoked.status == .ok)
            await #expect(throws: (any Error).self) { _ = try await firstLine(deployer) }
            try await Self.eventually { api.logs.followerCount(function: "fn") == 0 }
        }
    }

    /// Waits up to 5 s for `condition`.
    static func eventually(_ condition: @Sendable () -> Bool) async throws {
        for _ in 0..<250 {
            if condition() { return }
            try await Task.sleep(for: .milliseconds(20))
        }
        Issue.record("condition not met within 5 s")
    }
}

private func collect(_ stream: AsyncStream<String>) async -> [String] {
    var result: [String] = []
    for await item in stream { result.append(item) }
    return result
}
