import Foundation
import HTTPTypes
import HummingbirdTesting
import Logging
import NIOCore
import SwiftletCore
import SwiftletGateway
import SwiftletScheduler
import SwiftletStore
import Testing

/// The secrets API through the real application on a real socket (AsyncHTTPClient, so requests
/// can run concurrently), over a SQLite store, a running scheduler and the fake provider.
@Suite("Secrets API")
struct SecretsAPITests {
    static let credentials = BasicCredentials(user: "admin", password: "pw-\(UUID().uuidString)")
    static let auth: HTTPFields = [
        .authorization: "Basic " + Data("\(credentials.user):\(credentials.password)".utf8).base64EncodedString(),
        .contentType: "application/json",
    ]

    /// What a test gets: the client, the store, the provider and every log line.
    struct Harness: Sendable {
        let client: any TestClientProtocol
        let store: SQLiteStore
        let provider: FakeProvider
        let logs: GatewayLogs

        /// Sends `body` (a JSON object or raw text) to `uri` with the admin credentials.
        func send(_ method: HTTPRequest.Method, _ uri: String, json: Any? = nil, raw: String? = nil, auth: Bool = true) async throws -> TestResponse {
            var body: ByteBuffer?
            if let json { body = ByteBuffer(bytes: try JSONSerialization.data(withJSONObject: json)) }
            if let raw { body = ByteBuffer(string: raw) }
            return try await client.execute(uri: uri, method: method, headers: auth ? SecretsAPITests.auth : [.contentType: "application/json"], body: body)
        }

        /// Deploys a python3 function (to the fake provider) that names `secrets`.
        func deploy(_ name: String, secrets: [String], method: HTTPRequest.Method = .post) async throws -> TestResponse {
            try await send(
                method, "/system/functions",
                json: [
                    "service": name, "runtime": "python3", "code": Data("def handle(e, c): pass\n".utf8).base64EncodedString(),
                    "secrets": secrets, "labels": ["com.openfaas.scale.min": "1"],
                ]
            )
        }
    }

    /// Runs `body` against a fresh application and store.
    static func withAPI(_ body: @escaping @Sendable (Harness) async throws -> Void) async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("swiftlet-secrets-api-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let logs = GatewayLogs()
        let logger = logs.logger()
        let store = try SQLiteStore(path: directory + "/swiftlet.db", logger: logger)
        let provider = FakeProvider()
        let scheduler = Scheduler(provider: provider, configuration: .init(readinessTimeout: .seconds(5), acquireTimeout: .seconds(5)), logger: logger)
        let schedulerTask = Task { try await scheduler.run() }
        defer { schedulerTask.cancel() }
        let app = buildApplication(
            configuration: GatewayConfiguration(port: 0, credentials: credentials, uploadDirectory: directory + "/uploads"),
            store: store, scheduler: scheduler, provider: provider, logger: logger
        )
        try await app.test(.ahc(.http)) { client in
            try await body(Harness(client: client, store: store, provider: provider, logs: logs))
        }
        schedulerTask.cancel()
        _ = try? await schedulerTask.value
    }

    static func text(_ response: TestResponse) -> String { String(buffer: response.body) }

    @Test("create 201, again 409, list names only, update 200, update absent 404, delete 200, again 404")
    func lifecycle() async throws {
        try await Self.withAPI { api in
            let created = try await api.send(.post, "/system/secrets", json: ["name": "db-pass", "value": "hunter2-value"])
            #expect(created.status == .created, "\(Self.text(created))")
            let again = try await api.send(.post, "/system/secrets", json: ["name": "db-pass", "namespace": "openfaas-fn", "value": "other-value"])
            #expect(again.status == .conflict)
            #expect(Self.text(again).contains("'db-pass' already exists"))
            #expect(try await api.store.secretValues(["db-pass"]) == ["db-pass": Data("hunter2-value".utf8)])

            let binary = Data([0x00, 0xFF, 0xFE, 0x0A, 0x0D, 0x80])
            let raw = try await api.send(.post, "/system/secrets", json: ["name": "blob", "rawValue": binary.base64EncodedString()])
            #expect(raw.status == .created)
            #expect(try await api.store.secretValues(["blob"]) == ["blob": binary])
            let empty = try await api.send(.post, "/system/secrets", json: ["name": "empty", "value": ""])
            #expect(empty.status == .created)
            #expect(try await api.store.secretValues(["empty"]) == ["empty": Data()])

            for uri in ["/system/secrets", "/system/secrets?namespace=openfaas-fn", "/system/secrets?namespace="] {
                let list = try await api.send(.get, uri)
                #expect(list.status == .ok)
                #expect(list.headers[.contentType] == "application/json")
                let entries = try #require(try JSONSerialization.jsonObject(with: Data(list.body.readableBytesView)) as? [[String: Any]])
                #expect(entries.map { $0["name"] as? String } == ["blob", "db-pass", "empty"])
                #expect(entries.allSatisfy { Set($0.keys) == ["name", "namespace"] && $0["namespace"] as? String == "openfaas-fn" })
                #expect(!Self.text(list).contains("hunter2"))
            }

            let updated = try await api.send(.put, "/system/secrets", json: ["name": "db-pass", "value": "new-value-2"])
            #expect(updated.status == .ok, "\(Self.text(updated))")
            #expect(try await api.store.secretValues(["db-pass"]) == ["db-pass": Data("new-value-2".utf8)])
            let absent = try await api.send(.put, "/system/secrets", json: ["name": "ghost", "value": "boo-value"])
            #expect(absent.status == .notFound)
            #expect(Self.text(absent).contains("swiftlet secret create ghost"))

            let deleted = try await api.send(.delete, "/system/secrets", json: ["name": "db-pass"])
            #expect(deleted.status == .ok, "DELETE must answer exactly 200 (faas-cli treats 204 as an error)")
            let deletedAgain = try await api.send(.delete, "/system/secrets", json: ["name": "db-pass", "namespace": "openfaas-fn"])
            #expect(deletedAgain.status == .notFound)
            #expect(Self.text(deletedAgain).contains("secret 'db-pass' not found"))
            #expect(try await api.store.secretNames().map(\.name) == ["blob", "empty"])
            #expect(!api.logs.contain("hunter2") && !api.logs.contain("new-value-2") && !api.logs.contain("other-value"))
            #expect(api.logs.contain("created secret") && api.logs.contain("removed secret"))
        }
    }

    @Test("deploys need their secrets; a secret in use cannot be deleted (409 naming the functions)")
    func secretsInUse() async throws {
        try await Self.withAPI { api in
            let missing = try await api.deploy("app", secrets: ["db-pass"])
            #expect(missing.status == .badRequest)
            #expect(Self.text(missing) == "secret 'db-pass' not found; create it with `swiftlet secret create db-pass`\n")
            #expect(try await api.store.function(named: "app") == nil)
            #expect(api.provider.started.isEmpty)

            #expect(try await api.send(.post, "/system/secrets", json: ["name": "db-pass", "value": "v-in-use"]).status == .created)
            #expect(try await api.deploy("app", secrets: ["db-pass"]).status == .accepted)
            #expect(try await api.deploy("batch", secrets: ["db-pass"]).status == .accepted)
            let update = try await api.deploy("app", secrets: ["db-pass", "api-key"], method: .put)
            #expect(update.status == .badRequest)
            #expect(Self.text(update).contains("secret 'api-key' not found"))
            #expect(try await api.store.function(named: "app")?.secrets == ["db-pass"])

            let inUse = try await api.send(.delete, "/system/secrets", json: ["name": "db-pass"])
            #expect(inUse.status == .conflict)
            #expect(Self.text(inUse).hasPrefix("secret 'db-pass' is used by functions 'app', 'batch'; remove it from them first"))

            #expect(try await api.send(.delete, "/system/functions", json: ["functionName": "app"]).status == .ok)
            let stillUsed = try await api.send(.delete, "/system/secrets", json: ["name": "db-pass"])
            #expect(stillUsed.status == .conflict)
            #expect(Self.text(stillUsed).contains("used by function 'batch'"))
            #expect(try await api.deploy("batch", secrets: [], method: .put).status == .ok)
            #expect(try await api.send(.delete, "/system/secrets", json: ["name": "db-pass"]).status == .ok)
        }
    }

    @Test("an update rolls exactly the functions that use the secret")
    func updateRollsUsers() async throws {
        try await Self.withAPI { api in
            #expect(try await api.send(.post, "/system/secrets", json: ["name": "token", "value": "first-token"]).status == .created)
            #expect(try await api.deploy("user", secrets: ["token"]).status == .accepted)
            #expect(try await api.deploy("bystander", secrets: []).status == .accepted)
            #expect(try await eventually { api.provider.started.count == 2 })
            let before = api.provider.started
            let user = try #require(before.first { $0.hasPrefix("user-") })
            let bystander = try #require(before.first { $0.hasPrefix("bystander-") })

            #expect(try await api.send(.put, "/system/secrets", json: ["name": "token", "value": "second-token"]).status == .ok)
            #expect(try await eventually { api.provider.stopped.contains(user) })
            #expect(try await eventually { api.provider.started.filter { $0.hasPrefix("user-") }.count == 2 })
            // Give a wrongly rolled bystander time to show up before checking it was left alone.
            try await Task.sleep(for: .milliseconds(200))
            #expect(!api.provider.stopped.contains(bystander))
            #expect(api.provider.started.filter { $0.hasPrefix("bystander-") } == [bystander])
            #expect(api.logs.contain("updated secret"))
            #expect(!api.logs.contain("second-token") && !api.logs.contain("first-token"))
        }
    }

    @Test("bad bodies get a clear 400 (or 413) and never echo the value")
    func badBodies() async throws {
        try await Self.withAPI { api in
            let cases: [(String, HTTPResponse.Status, String)] = [
                (#"{"name": "a", "value": "x""#, .badRequest, "not valid JSON"),
                ("not json at all", .badRequest, "not valid JSON"),
                ("[]", .badRequest, "invalid JSON"),
                ("", .badRequest, "the request body is empty"),
                (#"{"value": "secret-v"}"#, .badRequest, "the field \"name\" is missing"),
                (#"{"name": 5, "value": "secret-v"}"#, .badRequest, "\"name\" has the wrong type"),
                (#"{"name": "a", "value": 5}"#, .badRequest, "\"value\" has the wrong type"),
                (#"{"name": "a", "rawValue": true}"#, .badRequest, "\"rawValue\" has the wrong type"),
                (#"{"name": "a", "namespace": ["x"], "value": "secret-v"}"#, .badRequest, "\"namespace\" has the wrong type"),
                (#"{"name": "a"}"#, .badRequest, "has no value"),
                (#"{"name": "a", "value": null, "rawValue": null}"#, .badRequest, "has no value"),
                (#"{"name": "a", "value": "secret-v", "rawValue": "c2VjcmV0"}"#, .badRequest, "not both"),
                (#"{"name": "a", "rawValue": "not base64!"}"#, .badRequest, "not valid base64"),
                (#"{"name": "a", "rawValue": "abc"}"#, .badRequest, "not valid base64"),
                (#"{"name": "a", "rawValue": "YQ=x"}"#, .badRequest, "not valid base64"),
                (#"{"name": "a", "namespace": "kube-system", "value": "secret-v"}"#, .badRequest, "namespace 'kube-system' does not exist"),
            ]
            for method in [HTTPRequest.Method.post, .put] {
                for (body, status, message) in cases {
                    let answer = try await api.send(method, "/system/secrets", raw: body)
                    #expect(answer.status == status, "\(method) \(body): \(Self.text(answer))")
                    #expect(Self.text(answer).contains(message), "\(method) \(body): \(Self.text(answer))")
                    #expect(!Self.text(answer).contains("secret-v"))
                }
            }
            #expect(try await api.store.secretNames().isEmpty)
            let list = try await api.send(.get, "/system/secrets?namespace=other")
            #expect(list.status == .badRequest)
            #expect(Self.text(list).contains("namespace 'other' does not exist"))
            let delete = try await api.send(.delete, "/system/secrets", json: ["name": "a", "namespace": "other"])
            #expect(delete.status == .badRequest)
            #expect(try await api.send(.delete, "/system/secrets", raw: "{").status == .badRequest)
            #expect(try await api.send(.delete, "/system/secrets", raw: "{}").status == .badRequest)
        }
    }

    @Test("hostile names are refused on every route", arguments: [
        "", "../x", "..", ".", "a/b", "/etc/passwd", "UPPER", "-a", "a-", "a_b", "a b", "clé", "🔑", "a\u{0}b", "a\nb",
        String(repeating: "a", count: 64), String(repeating: "x", count: 10_000),
    ])
    func hostileNames(_ name: String) async throws {
        try await Self.withAPI { api in
            for method in [HTTPRequest.Method.post, .put] {
                let answer = try await api.send(method, "/system/secrets", json: ["name": name, "value": "hostile-value"])
                #expect(answer.status == .badRequest, "\(method): \(Self.text(answer))")
                #expect(Self.text(answer).hasPrefix("invalid secret name"), "\(Self.text(answer))")
                #expect(Self.text(answer).count < 400, "the name is cut in the message")
            }
            let delete = try await api.send(.delete, "/system/secrets", json: ["name": name])
            #expect(delete.status == .badRequest)
            #expect(Self.text(delete).hasPrefix("invalid secret name"))
            let deploy = try await api.deploy("app", secrets: [name])
            #expect(deploy.status == .badRequest)
            #expect(try await api.store.secretNames().isEmpty)
        }
    }

    @Test("values up to 1 MiB are accepted; larger ones get 413 as value or rawValue")
    func sizeLimit() async throws {
        try await Self.withAPI { api in
            let limit = Secret.maxValueBytes
            let exact = String(repeating: "v", count: limit)
            #expect(try await api.send(.post, "/system/secrets", json: ["name": "exact", "value": exact]).status == .created)
            #expect(try await api.store.secretValues(["exact"])["exact"]?.count == limit)
            let exactRaw = Data(repeating: 0xAB, count: limit).base64EncodedString()
            #expect(try await api.send(.post, "/system/secrets", json: ["name": "exact-raw", "rawValue": exactRaw]).status == .created)

            let over = String(repeating: "v", count: limit + 1)
            let overRaw = Data(repeating: 0xAB, count: limit + 1).base64EncodedString()
            let huge = Data(repeating: 0xAB, count: 4 * limit).base64EncodedString()
            for (name, body) in [("over", ["name": "over", "value": over]), ("over-raw", ["name": "over-raw", "rawValue": overRaw]),
                                 ("huge", ["name": "huge", "rawValue": huge])] {
                for method in [HTTPRequest.Method.post, .put] {
                    let answer = try await api.send(method, "/system/secrets", json: body)
                    #expect(answer.status == .contentTooLarge, "\(name) \(method): \(Self.text(answer))")
                    #expect(Self.text(answer).contains("the limit is 1048576 bytes") || Self.text(answer).contains("limit of 1048576 bytes"))
                }
            }
            let tooBig = try await api.send(.post, "/system/secrets", raw: #"{"name":"x","value":""# + String(repeating: "v", count: 17 * 1024 * 1024) + #""}"#)
            #expect(tooBig.status == .contentTooLarge)
            #expect(Self.text(tooBig).contains("at most 1048576 bytes"))
            #expect(try await api.store.secretNames().map(\.name) == ["exact", "exact-raw"])
        }
    }

    @Test("every route needs basic auth (401 with WWW-Authenticate)")
    func authRequired() async throws {
        try await Self.withAPI { api in
            #expect(try await api.send(.post, "/system/secrets", json: ["name": "kept", "value": "v"]).status == .created)
            let wrong: HTTPFields = [.authorization: "Basic " + Data("admin:wrong".utf8).base64EncodedString()]
            for method in [HTTPRequest.Method.get, .post, .put, .delete] {
                let body = ByteBuffer(string: #"{"name":"kept","value":"changed-by-intruder"}"#)
                for headers in [HTTPFields(), wrong, [.authorization: "Bearer "]] {
                    let answer = try await api.client.execute(uri: "/system/secrets", method: method, headers: headers, body: body)
                    #expect(answer.status == .unauthorized, "\(method)")
                    #expect(answer.headers[.wwwAuthenticate] == "Basic realm=\"Restricted\"")
                    #expect(!Self.text(answer).contains("kept"))
                }
            }
            #expect(try await api.store.secretValues(["kept"]) == ["kept": Data("v".utf8)])
        }
    }

    @Test("concurrent POSTs of one name: one 201, the rest 409")
    func concurrentCreates() async throws {
        try await Self.withAPI { api in
            let statuses = try await withThrowingTaskGroup(of: (Int, HTTPResponse.Status).self) { group in
                for i in 0..<20 {
                    group.addTask { (i, try await api.send(.post, "/system/secrets", json: ["name": "race", "value": "value-\(i)"]).status) }
                }
                var all: [(Int, HTTPResponse.Status)] = []
                for try await outcome in group { all.append(outcome) }
                return all
            }
            let winners = statuses.filter { $0.1 == .created }
            #expect(winners.count == 1)
            #expect(statuses.filter { $0.1 == .conflict }.count == 19)
            let winner = try #require(winners.first).0
            #expect(try await api.store.secretValues(["race"]) == ["race": Data("value-\(winner)".utf8)])
        }
    }
}

/// Every line the application logged, at trace level, with its metadata.
final class GatewayLogs: @unchecked Sendable {
    private let lock = NSLock()
    private var lines: [String] = []

    func append(_ line: String) { lock.withLock { lines.append(line) } }

    /// Whether any line contains `text`.
    func contain(_ text: String) -> Bool { lock.withLock { lines.contains { $0.contains(text) } } }

    /// A trace-level logger that records here.
    func logger() -> Logger {
        var logger = Logger(label: "swiftlet.secrets.api.tests") { _ in Handler(logs: self) }
        logger.logLevel = .trace
        return logger
    }

    struct Handler: LogHandler {
        let logs: GatewayLogs
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .trace

        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }

        func log(event: LogEvent) {
            logs.append("\(event.level) \(event.message) \(metadata.merging(event.metadata ?? [:]) { $1 })")
        }
    }
}
