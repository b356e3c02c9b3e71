import Foundation
import Glibc
import HTTPTypes
import HummingbirdTesting
import Logging
import NIOCore
import SwiftletCore
import SwiftletGateway
import SwiftletScheduler
import SwiftletStore
import Testing

/// `POST /async-function/…` and the results API (`/system/async…`) through the real application
/// on a real socket, over a ``MemoryStore`` and no workers: every accepted call stays queued
/// until a test moves it on through the store.
@Suite("Async routes", .timeLimit(.minutes(1)))
struct AsyncRoutesTests {
    static let credentials = BasicCredentials(user: "admin", password: "pw-\(UUID().uuidString)")
    static let authorization: HTTPFields = [
        .authorization: "Basic " + Data("\(credentials.user):\(credentials.password)".utf8).base64EncodedString()
    ]
    /// The body limit of these tests.
    static let maxBodyBytes = 4096

    /// What a test gets: the client, the store and the server's port.
    struct Harness: Sendable {
        let client: any TestClientProtocol
        /// The application's store (a ``MemoryStore``), through its protocols.
        let store: any AsyncCallStore & FunctionStore

        /// `POST /async-function/{target}` without credentials.
        func enqueue(_ target: String, headers: HTTPFields = [:], body: ByteBuffer? = nil) async throws -> TestResponse {
            try await client.execute(uri: "/async-function/" + target, method: .post, headers: headers, body: body)
        }

        /// A results API request, with the admin credentials unless `auth` is false.
        func system(_ method: HTTPRequest.Method, _ uri: String, auth: Bool = true) async throws -> TestResponse {
            try await client.execute(uri: uri, method: method, headers: auth ? AsyncRoutesTests.authorization : [:])
        }

        /// How many calls the store holds, in any status.
        func storedCount() async throws -> Int {
            try await store.callCounts(function: nil).values.reduce(0, +)
        }

        /// Adds a function to the store (no instance is ever started for it).
        func deploy(_ name: String, labels: [String: String] = [:]) async throws {
            try await store.insertFunction(FunctionSpec(name: name, runtime: .python3, codeDigest: "d-\(name)", labels: labels), code: Data())
        }

        /// The raw socket's port.
        var port: Int { client.port ?? 0 }
    }

    /// Runs `body` against a fresh application over a memory store holding the function `echo`.
    static func withAPI(auth: Bool = true, _ body: @escaping @Sendable (Harness) async throws -> Void) async throws {
        let logger = Logger(label: "swiftlet.async.routes.tests") { _ in SwiftLogNoOpLogHandler() }
        let store = MemoryStore()
        let provider = FakeProvider()
        let scheduler = Scheduler(provider: provider, configuration: .init(readinessTimeout: .seconds(5), acquireTimeout: .seconds(5)), logger: logger)
        let schedulerTask = Task { try await scheduler.run() }
        defer { schedulerTask.cancel() }
        let app = buildApplication(
            configuration: GatewayConfiguration(
                port: 0, credentials: auth ? credentials : nil, maxBodyBytes: maxBodyBytes, uploadDirectory: NSTemporaryDirectory()
            ),
            store: store, scheduler: scheduler, provider: provider, logger: logger
        )
        try await app.test(.ahc(.http)) { client in
            let harness = Harness(client: client, store: store)
            try await harness.deploy("echo")
            try await body(harness)
        }
        schedulerTask.cancel()
        _ = try? await schedulerTask.value
    }

    static func text(_ response: TestResponse) -> String { String(buffer: response.body) }

    static func json(_ response: TestResponse) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(response.body.readableBytesView)) as? [String: Any], "\(text(response))")
    }

    // MARK: Enqueue: bad input

    @Test("GET, PUT, DELETE and PATCH on /async-function answer 405 with Allow: POST and store nothing")
    func methodNotAllowed() async throws {
        try await Self.withAPI { api in
            for method in [HTTPRequest.Method.get, .put, .delete, .patch] {
                for target in ["echo", "echo/sub/path?x=1", "nothing-here"] {
                    let answer = try await api.client.execute(uri: "/async-function/" + target, method: method, body: ByteBuffer(string: "x"))
                    #expect(answer.status == .methodNotAllowed, "\(method) \(target): \(answer.status)")
                    #expect(answer.headers[.allow] == "POST", "\(method) \(target)")
                    #expect(Self.text(answer).contains("POST"))
                }
            }
            #expect(try await api.storedCount() == 0)
        }
    }

    @Test("unknown function, invalid name, other namespace → 404; the default namespace is accepted")
    func unknownFunctions() async throws {
        try await Self.withAPI { api in
            let refused = [
                "nothing-here", "nothing-here/sub", "Bad_Name", "UPPER", "a..b", "-leading", "echo.kube-system", "echo.other/x", "%2e%2e",
                String(repeating: "a", count: 64), "", "/echo",
            ]
            for target in refused {
                let answer = try await api.enqueue(target, body: ByteBuffer(string: "x"))
                #expect(answer.status == .notFound, "'\(target)': \(answer.status) \(Self.text(answer))")
                #expect(answer.headers[.xCallID] == nil)
            }
            #expect(try await api.storedCount() == 0)
            let unknown = try await api.enqueue("nothing-here")
            #expect(Self.text(unknown).contains("'nothing-here' not found"))

            let namespaced = try await api.enqueue("echo.openfaas-fn/p", body: ByteBuffer(string: "x"))
            #expect(namespaced.status == .accepted, "\(Self.text(namespaced))")
            let id = try #require(namespaced.headers[.xCallID])
            let call = try #require(try await api.store.call(id: id))
            #expect(call.function == "echo")
            #expect(call.request.path == "/p")
        }
    }

    @Test("a malformed X-Callback-Url is refused with 400 and nothing is stored")
    func badCallbackURLs() async throws {
        try await Self.withAPI { api in
            let refused = [
                "", "   ", "not a url", "not-a-url", "/relative/path", "127.0.0.1:9000/cb", "ftp://127.0.0.1/cb", "file:///etc/passwd",
                "javascript:alert(1)", "http://", "http:///path-only", "https://:8080/x", "http://user:secret@127.0.0.1/cb",
                "http://user@127.0.0.1/cb", "http://127.0.0.1/cb#fragment", "http://127.0.0.1:99999/cb", "http://127.0.0.1:0/cb",
                "http://127.0.0.1/a b", "http://127.0.0.1/é", "http://127.0.0.1/" + String(repeating: "a", count: 2100),
            ]
            for url in refused {
                let answer = try await api.enqueue("echo", headers: [HTTPField.Name("X-Callback-Url")!: url], body: ByteBuffer(string: "x"))
                #expect(answer.status == .badRequest, "'\(url.prefix(60))': \(answer.status) \(Self.text(answer))")
                #expect(Self.text(answer).contains("X-Callback-Url"), "'\(url.prefix(60))': \(Self.text(answer))")
                #expect(answer.headers[.xCallID] == nil)
            }
            #expect(try await api.storedCount() == 0)

            // Accepted as given (trimmed): http, https, a port, a query.
            for url in ["http://127.0.0.1:9/cb", "  https://callbacks.invalid/x?y=1  ", "HTTP://127.0.0.1/upper-scheme"] {
                let answer = try await api.enqueue("echo", headers: [HTTPField.Name("X-Callback-Url")!: url])
                #expect(answer.status == .accepted, "'\(url)': \(Self.text(answer))")
                let id = try #require(answer.headers[.xCallID])
                #expect(try await api.store.call(id: id)?.callbackURL == url.trimmingCharacters(in: .whitespaces))
            }
            #expect(try await api.storedCount() == 3)
        }
    }

    @Test("a body over the limit → 413 and nothing stored (Content-Length, a claimed Content-Length, chunked)")
    func bodyTooLarge() async throws {
        try await Self.withAPI { api in
            let over = try await api.enqueue("echo", body: ByteBuffer(repeating: 0x61, count: Self.maxBodyBytes + 1))
            #expect(over.status == .contentTooLarge, "\(Self.text(over))")

            let claimed = try await RawHTTP.send(
                port: api.port,
                "POST /async-function/echo HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 10000000\r\nConnection: close\r\n\r\n"
            )
            #expect(claimed.status == 413, "\(claimed.text)")

            var chunked = "POST /async-function/echo HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
            for _ in 0..<5 { chunked += "3e8\r\n" + String(repeating: "b", count: 1000) + "\r\n" }
            chunked += "0\r\n\r\n"
            let streamed = try await RawHTTP.send(port: api.port, chunked)
            #expect(streamed.status == 413, "\(streamed.text)")
            #expect(try await api.storedCount() == 0)

            // At the limit exactly (and chunked under it) is fine.
            let exact = try await api.enqueue("echo", body: ByteBuffer(repeating: 0x61, count: Self.maxBodyBytes))
            #expect(exact.status == .accepted)
            let small = try await RawHTTP.send(
                port: api.port,
                "POST /async-function/echo HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n"
            )
            #expect(small.status == 202, "\(small.text)")
            let id = try #require(small.header("X-Call-Id"))
            #expect(try await api.store.call(id: id)?.request.body == Data("hello world".utf8))
            #expect(try await api.storedCount() == 2)
        }
    }

    // MARK: Call ids

    @Test("the caller's X-Call-Id is kept; a duplicate gets 409 and the first call stays intact")
    func duplicateCallID() async throws {
        try await Self.withAPI { api in
            let id = "order-42:retry-safe"
            let first = try await api.enqueue("echo", headers: [.xCallIDTest: id], body: ByteBuffer(string: "first body"))
            #expect(first.status == .accepted)
            #expect(first.headers[.xCallIDTest] == id)
            let again = try await api.enqueue(
                "echo/other", headers: [.xCallIDTest: id, HTTPField.Name("X-Callback-Url")!: "http://127.0.0.1:9/cb"],
                body: ByteBuffer(string: "second body")
            )
            #expect(again.status == .conflict, "\(Self.text(again))")
            #expect(Self.text(again).contains("already exists"))
            let stored = try #require(try await api.store.call(id: id))
            #expect(stored.request.body == Data("first body".utf8))
            #expect(stored.request.path == "/")
            #expect(stored.callbackURL == nil)
            #expect(try await api.storedCount() == 1)
        }
    }

    @Test("a hostile X-Call-Id (too long, spaces, empty) is replaced by a fresh UUID")
    func hostileCallIDs() async throws {
        try await Self.withAPI { api in
            let hostile = [String(repeating: "x", count: 129), "has spaces in it", "tab\there", "ünïcode", "   "]
            var seen: Set<String> = []
            for value in hostile {
                let answer = try await api.enqueue("echo", headers: [.xCallIDTest: value], body: ByteBuffer(string: "x"))
                #expect(answer.status == .accepted, "'\(value.prefix(20))': \(Self.text(answer))")
                let id = try #require(answer.headers[.xCallIDTest])
                #expect(UUID(uuidString: id) != nil, "'\(value.prefix(20))' gave the id '\(id)'")
                #expect(try await api.store.call(id: id) != nil)
                seen.insert(id)
            }
            #expect(seen.count == hostile.count)
            // 128 printable characters is the longest id kept.
            let longest = String(repeating: "k", count: 128)
            let kept = try await api.enqueue("echo", headers: [.xCallIDTest: longest])
            #expect(kept.headers[.xCallIDTest] == longest)
            #expect(try await api.storedCount() == hostile.count + 1)
        }
    }

    @Test("200 concurrent enqueues get 200 distinct ids, all stored")
    func concurrentEnqueues() async throws {
        try await Self.withAPI { api in
            let ids = try await withThrowingTaskGroup(of: (Int, String).self) { group in
                for index in 0..<200 {
                    group.addTask {
                        let answer = try await api.enqueue("echo/\(index)", body: ByteBuffer(string: "body \(index)"))
                        #expect(answer.status == .accepted)
                        return (index, answer.headers[.xCallIDTest] ?? "")
                    }
                }
                return try await group.reduce(into: [Int: String]()) { $0[$1.0] = $1.1 }
            }
            #expect(ids.count == 200)
            #expect(Set(ids.values.filter { !$0.isEmpty }).count == 200)
            #expect(try await api.storedCount() == 200)
            for (index, id) in ids {
                let call = try #require(try await api.store.call(id: id))
                #expect(call.request.path == "/\(index)")
                #expect(call.request.body == Data("body \(index)".utf8))
                #expect(call.status == .queued && call.attempts == 0)
            }
        }
    }

    // MARK: What is stored

    @Test("the stored request keeps method, sub-path, query, headers (with X-Forwarded-For) and the binary body")
    func storedRequest() async throws {
        try await Self.withAPI { api in
            let body = Data((0..<1024).map { UInt8(truncatingIfNeeded: $0 &* 7) })
            var headers: HTTPFields = [
                .contentType: "application/octet-stream", HTTPField.Name("X-Custom")!: "one", .xForwardedForTest: "203.0.113.9",
                HTTPField.Name("X-Callback-Url")!: "http://127.0.0.1:9/done", .xCallIDTest: "stored-request-1",
            ]
            headers.append(HTTPField(name: HTTPField.Name("X-Repeated")!, value: "a"))
            headers.append(HTTPField(name: HTTPField.Name("X-Repeated")!, value: "b"))
            let answer = try await api.enqueue("echo/items/7?color=red&size=%20L&empty=", headers: headers, body: ByteBuffer(data: body))
            #expect(answer.status == .accepted, "\(Self.text(answer))")
            #expect(answer.headers[.xCallIDTest] == "stored-request-1")
            #expect(answer.headers[HTTPField.Name("X-Start-Time")!].flatMap(Int64.init) != nil)
            let call = try #require(try await api.store.call(id: "stored-request-1"))
            #expect(call.function == "echo")
            #expect(call.request.method == "POST")
            #expect(call.request.path == "/items/7?color=red&size=%20L&empty=")
            #expect(call.request.body == body)
            #expect(call.request.bodyBytes == 1024)
            #expect(call.callbackURL == "http://127.0.0.1:9/done")
            #expect(call.status == .queued && call.attempts == 0 && call.maxAttempts == AsyncLabels.defaultMaxAttempts)
            let stored = call.request.headers
            func values(_ name: String) -> [String] { stored.filter { $0.name.lowercased() == name.lowercased() }.map(\.value) }
            #expect(values("X-Custom") == ["one"])
            #expect(values("X-Repeated") == ["a", "b"])
            #expect(values("Content-Type") == ["application/octet-stream"])
            #expect(values("X-Forwarded-For") == ["203.0.113.9, 127.0.0.1"], "\(stored)")
            #expect(values("X-Forwarded-Host").count == 1)
            #expect(values("X-Call-Id").isEmpty, "the id travels in its own column and is set per attempt")
            #expect(values("Connection").isEmpty && values("Transfer-Encoding").isEmpty)

            // An empty POST gets the path "/" and an empty body; max-attempts follows the label.
            try await api.deploy("limited", labels: [AsyncLabels.Key.maxAttempts: "2"])
            let empty = try await api.enqueue("limited")
            let emptyID = try #require(empty.headers[.xCallIDTest])
            let emptyCall = try #require(try await api.store.call(id: emptyID))
            #expect(emptyCall.request.path == "/")
            #expect(emptyCall.request.body.isEmpty)
            #expect(emptyCall.maxAttempts == 2)
            #expect(emptyCall.callbackURL == nil)
        }
    }

    // MARK: The results API

    @Test("/async-function needs no credentials; every /system/async route does (401 with WWW-Authenticate)")
    func authentication() async throws {
        try await Self.withAPI { api in
            let open = try await api.enqueue("echo", headers: [.xCallIDTest: "open-1"], body: ByteBuffer(string: "x"))
            #expect(open.status == .accepted)
            let wrong: HTTPFields = [.authorization: "Basic " + Data("admin:wrong".utf8).base64EncodedString()]
            let routes: [(HTTPRequest.Method, String)] = [
                (.get, "/system/async"), (.get, "/system/async?function=echo"), (.get, "/system/async/open-1"), (.get, "/system/async/nope"),
                (.post, "/system/async/open-1/retry"),
            ]
            for (method, uri) in routes {
                for headers in [HTTPFields(), wrong, [.authorization: "Bearer "]] {
                    let answer = try await api.client.execute(uri: uri, method: method, headers: headers)
                    #expect(answer.status == .unauthorized, "\(method) \(uri): \(answer.status)")
                    #expect(answer.headers[.wwwAuthenticate] == #"Basic realm="Restricted""#)
                    #expect(!Self.text(answer).contains("open-1\""))
                }
            }
            #expect(try await api.system(.get, "/system/async/open-1").status == .ok)
        }
    }

    @Test("with auth off the results API is open, and an empty Bearer header is ignored")
    func authOff() async throws {
        try await Self.withAPI(auth: false) { api in
            let queued = try await api.enqueue("echo", headers: [.xCallIDTest: "no-auth-1"])
            #expect(queued.status == .accepted)
            let answer = try await api.client.execute(uri: "/system/async/no-auth-1", method: .get, headers: [.authorization: "Bearer "])
            #expect(answer.status == .ok, "\(Self.text(answer))")
            #expect(try Self.json(answer)["status"] as? String == "queued")
        }
    }

    @Test("GET /system/async/{id}: the call with its answer (text or base64); unknown id → 404")
    func showCall() async throws {
        try await Self.withAPI { api in
            let unknown = try await api.system(.get, "/system/async/no-such-call")
            #expect(unknown.status == .notFound)
            #expect(Self.text(unknown).contains("'no-such-call' not found"))
            #expect(try await api.system(.get, "/system/async/" + String(repeating: "z", count: 300)).status == .notFound)

            _ = try await api.enqueue("echo/p?q=1", headers: [.xCallIDTest: "show-1", HTTPField.Name("X-Callback-Url")!: "http://127.0.0.1:9/cb"], body: ByteBuffer(string: "in"))
            let queued = try Self.json(try await api.system(.get, "/system/async/show-1"))
            #expect(queued["callId"] as? String == "show-1")
            #expect(queued["function"] as? String == "echo")
            #expect(queued["status"] as? String == "queued")
            #expect(queued["attempts"] as? Int == 0)
            #expect(queued["nextAttemptAt"] is String)
            #expect(queued["result"] == nil)
            let request = try #require(queued["request"] as? [String: Any])
            #expect(request["method"] as? String == "POST" && request["path"] as? String == "/p?q=1" && request["bodyBytes"] as? Int == 2)
            let callback = try #require(queued["callback"] as? [String: Any])
            #expect(callback["url"] as? String == "http://127.0.0.1:9/cb" && callback["status"] as? String == "none")

            try await Self.finish(api.store, "show-1", status: 200, body: Data("answer text".utf8), headers: [HeaderField(name: "X-Out", value: "1")])
            let done = try Self.json(try await api.system(.get, "/system/async/show-1"))
            #expect(done["status"] as? String == "succeeded")
            #expect(done["attempts"] as? Int == 1)
            #expect(done["nextAttemptAt"] == nil)
            #expect(done["finishedAt"] is String)
            let result = try #require(done["result"] as? [String: Any])
            #expect(result["status"] as? Int == 200)
            #expect(result["body"] as? String == "answer text" && result["bodyEncoding"] as? String == "utf8")
            #expect((result["headers"] as? [[String: String]])?.contains(["name": "X-Out", "value": "1"]) == true)
            #expect((done["callback"] as? [String: Any])?["status"] as? String == "pending")

            _ = try await api.enqueue("echo", headers: [.xCallIDTest: "show-binary"])
            let binary = Data([0x00, 0xFF, 0xFE, 0x80, 0x0A])
            try await Self.finish(api.store, "show-binary", status: 200, body: binary)
            let shown = try Self.json(try await api.system(.get, "/system/async/show-binary"))
            let binaryResult = try #require(shown["result"] as? [String: Any])
            #expect(binaryResult["bodyEncoding"] as? String == "base64")
            #expect((binaryResult["body"] as? String).flatMap { Data(base64Encoded: $0) } == binary)
        }
    }

    @Test("GET /system/async: counts and the newest calls, filtered by function and status, limited; no bodies")
    func listCalls() async throws {
        try await Self.withAPI { api in
            try await api.deploy("other")
            for index in 0..<6 {
                let answer = try await api.enqueue("echo", headers: [.xCallIDTest: "e\(index)"], body: ByteBuffer(string: "secret-body-\(index)"))
                #expect(answer.status == .accepted)
            }
            for index in 0..<3 {
                #expect(try await api.enqueue("other", headers: [.xCallIDTest: "o\(index)"]).status == .accepted)
            }
            try await Self.finish(api.store, "e0", status: 200, body: Data("result-body".utf8))
            try await Self.finish(api.store, "e1", status: 400)
            try await Self.finish(api.store, "e2", status: 503, dead: true)
            try await Self.finish(api.store, "o0", status: 200)

            let all = try Self.json(try await api.system(.get, "/system/async"))
            #expect(all["counts"] as? [String: Int] == ["queued": 5, "running": 0, "succeeded": 2, "failed": 1, "dead": 1])
            let allCalls = try #require(all["calls"] as? [[String: Any]])
            #expect(allCalls.map { $0["callId"] as? String } == ["o2", "o1", "o0", "e5", "e4", "e3", "e2", "e1", "e0"])
            let listText = Self.text(try await api.system(.get, "/system/async"))
            #expect(!listText.contains("secret-body") && !listText.contains("result-body"), "lists carry no bodies")

            let echo = try Self.json(try await api.system(.get, "/system/async?function=echo"))
            #expect(echo["counts"] as? [String: Int] == ["queued": 3, "running": 0, "succeeded": 1, "failed": 1, "dead": 1])
            #expect((echo["calls"] as? [[String: Any]])?.map { $0["callId"] as? String } == ["e5", "e4", "e3", "e2", "e1", "e0"])

            let cases: [(String, [String])] = [
                ("?status=succeeded", ["o0", "e0"]), ("?status=dead", ["e2"]), ("?function=echo&status=failed", ["e1"]),
                ("?function=other&status=queued", ["o2", "o1"]), ("?limit=2", ["o2", "o1"]), ("?function=echo&limit=1", ["e5"]),
                ("?limit=0", []), ("?function=nobody", []), ("?status=running", []), ("?function=&status=", ["o2", "o1", "o0", "e5", "e4", "e3", "e2", "e1", "e0"]),
                ("?limit=1000", ["o2", "o1", "o0", "e5", "e4", "e3", "e2", "e1", "e0"]),
            ]
            for (query, expected) in cases {
                let answer = try await api.system(.get, "/system/async" + query)
                #expect(answer.status == .ok, "\(query): \(Self.text(answer))")
                let calls = try #require(try Self.json(answer)["calls"] as? [[String: Any]])
                #expect(calls.map { $0["callId"] as? String ?? "?" } == expected, "\(query)")
            }
            let zero = try Self.json(try await api.system(.get, "/system/async?limit=0"))
            #expect((zero["counts"] as? [String: Int])?["queued"] == 5, "limit=0 still gives the counts")
            let succeeded = try #require((try Self.json(try await api.system(.get, "/system/async?status=succeeded"))["calls"] as? [[String: Any]])?.last)
            let result = try #require(succeeded["result"] as? [String: Any])
            #expect(result["bodyBytes"] as? Int == 11 && result["body"] == nil)
        }
    }

    @Test("bad list queries → 400 naming the parameter", arguments: [
        ("status=bogus", "status"), ("status=QUEUED", "status"), ("limit=-1", "limit"), ("limit=1001", "limit"), ("limit=abc", "limit"),
        ("limit=", "limit"), ("limit=1.5", "limit"), ("function=Bad_Name", "function"), ("function=a%20b", "function"),
        ("function=" + String(repeating: "f", count: 300), "function"),
    ])
    func badListQueries(_ query: String, _ parameter: String) async throws {
        try await Self.withAPI { api in
            let answer = try await api.system(.get, "/system/async?" + query)
            #expect(answer.status == .badRequest, "\(query): \(answer.status) \(Self.text(answer))")
            #expect(Self.text(answer).contains(parameter), "\(query): \(Self.text(answer))")
        }
    }

    @Test("POST /system/async/{id}/retry: unknown → 404, queued or succeeded → 409, dead or failed → 202 with fresh attempts")
    func retry() async throws {
        try await Self.withAPI { api in
            let unknown = try await api.system(.post, "/system/async/ghost/retry")
            #expect(unknown.status == .notFound, "\(Self.text(unknown))")

            _ = try await api.enqueue("echo", headers: [.xCallIDTest: "r-queued"])
            let queued = try await api.system(.post, "/system/async/r-queued/retry")
            #expect(queued.status == .conflict)
            #expect(Self.text(queued).contains("is queued"))

            _ = try await api.enqueue("echo", headers: [.xCallIDTest: "r-ok"])
            try await Self.finish(api.store, "r-ok", status: 200)
            #expect(try await api.system(.post, "/system/async/r-ok/retry").status == .conflict)

            _ = try await api.enqueue("echo", headers: [.xCallIDTest: "r-dead", HTTPField.Name("X-Callback-Url")!: "http://127.0.0.1:9/cb"], body: ByteBuffer(string: "keep me"))
            try await Self.finish(api.store, "r-dead", status: 503, dead: true)
            let dead = try await api.system(.post, "/system/async/r-dead/retry")
            #expect(dead.status == .accepted, "\(Self.text(dead))")
            let report = try Self.json(dead)
            #expect(report["status"] as? String == "queued" && report["attempts"] as? Int == 0)
            let requeued = try #require(try await api.store.call(id: "r-dead"))
            #expect(requeued.status == .queued && requeued.attempts == 0 && requeued.finishedAt == nil)
            #expect(requeued.request.body == Data("keep me".utf8))
            #expect(requeued.callback.status == .none)
            #expect(try await api.system(.post, "/system/async/r-dead/retry").status == .conflict, "a second retry finds it queued")

            _ = try await api.enqueue("echo", headers: [.xCallIDTest: "r-failed"])
            try await Self.finish(api.store, "r-failed", status: 400)
            #expect(try await api.system(.post, "/system/async/r-failed/retry").status == .accepted)
            #expect(try await api.store.call(id: "r-failed")?.status == .queued)
            #expect(try await api.system(.get, "/system/async/r-failed/retry").status != .accepted, "retry is POST only")
        }
    }

    @Test("a caller's id with URL-special characters (/ ? # %) can be read back and retried, percent-encoded as the CLI sends it")
    func urlSpecialCallIDs() async throws {
        try await Self.withAPI { api in
            for id in ["plain-id", "dots..", "..", "plus+sign", "colon:and@at"] {
                #expect(try await api.enqueue("echo", headers: [.xCallIDTest: id]).headers[.xCallIDTest] == id)
                let shown = try await api.system(.get, "/system/async/" + Self.escaped(id))
                #expect(shown.status == .ok, "'\(id)': \(Self.text(shown))")
                #expect(try Self.json(shown)["callId"] as? String == id)
            }
            // Ids with URL-special characters are kept too, and the results API (and
            // `swiftlet call`, which percent-encodes the id) finds them.
            for id in ["order/42", "50%off", "what?x=1", "hash#tag"] {
                let answer = try await api.enqueue("echo", headers: [.xCallIDTest: id])
                #expect(answer.status == .accepted)
                #expect(answer.headers[.xCallIDTest] == id)
                try await Self.finish(api.store, id, status: 400)
                let shown = try await api.system(.get, "/system/async/" + Self.escaped(id))
                #expect(shown.status == .ok, "'\(id)': \(Self.text(shown))")
                #expect(try Self.json(shown)["callId"] as? String == id)
                let retried = try await api.system(.post, "/system/async/" + Self.escaped(id) + "/retry")
                #expect(retried.status == .accepted, "'\(id)': \(Self.text(retried))")
            }
        }
    }

    /// A call id as a path segment, percent-encoded the way `swiftlet call` does it.
    static func escaped(_ id: String) -> String {
        id.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed.subtracting(CharacterSet(charactersIn: "/"))) ?? id
    }

    // MARK: Helpers

    /// Leases call `id` and records one attempt's answer: success below 400, a final failure,
    /// or (with `dead`) a dead letter.
    static func finish(_ store: any AsyncCallStore, _ id: String, status: Int, body: Data = Data(), headers: [HeaderField] = [], dead: Bool = false) async throws {
        let call = try #require(try await store.call(id: id))
        let now = Date()
        let token = "test-token"
        let leased = try await store.leaseCalls(function: call.function, limit: 1000, now: now.addingTimeInterval(1), leaseUntil: now.addingTimeInterval(60), token: token)
        #expect(leased.contains { $0.id == id })
        // Put the others back untouched.
        try await store.releaseCalls(ids: leased.map(\.id).filter { $0 != id }, token: token, now: call.nextAttemptAt)
        let result = AsyncResult(status: status, headers: headers, body: body, durationSeconds: 0.01)
        let outcome: AsyncOutcome
        if dead {
            outcome = .dead(result, error: "the function answered \(status)")
        } else if status < 400 {
            outcome = .succeeded(result)
        } else {
            outcome = .failed(result, error: "the function answered \(status)")
        }
        #expect(try await store.finishCall(id: id, token: token, attempt: 1, outcome: outcome, now: Date()))
    }
}

extension HTTPField.Name {
    fileprivate static let xCallIDTest = HTTPField.Name("X-Call-Id")!
    fileprivate static let xForwardedForTest = HTTPField.Name("X-Forwarded-For")!
}

/// A bare HTTP/1.1 exchange over a loopback socket, for requests the test clients cannot make
/// (a chunked body, a Content-Length without the body).
enum RawHTTP {
    struct Answer: Sendable {
        var status: Int
        var text: String

        /// The first value of header `name` in the answer.
        func header(_ name: String) -> String? {
            for line in text.components(separatedBy: "\r\n").dropFirst() {
                if line.isEmpty { break }
                let parts = line.split(separator: ":", maxSplits: 1)
                if parts.count == 2, parts[0].lowercased() == name.lowercased() { return parts[1].trimmingCharacters(in: .whitespaces) }
            }
            return nil
        }
    }

    /// Sends `request` to 127.0.0.1:`port` and reads the answer until the server closes (5 s at most).
    static func send(port: Int, _ request: String) async throws -> Answer {
        try await withCheckedThrowingContinuation { continuation in
            DispatchQueue.global().async {
                continuation.resume(with: Result { try exchange(port: port, Array(request.utf8)) })
            }
        }
    }

    private static func exchange(port: Int, _ bytes: [UInt8]) throws -> Answer {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw SwiftletError(.internal, "socket failed") }
        defer { close(fd) }
        var timeout = timeval(tv_sec: 5, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = UInt16(port).bigEndian
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
        }
        guard connected else { throw SwiftletError(.internal, "cannot connect to 127.0.0.1:\(port)") }
        var sent = 0
        while sent < bytes.count {
            // The server may answer and close before reading everything: stop writing then.
            let written = bytes[sent...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if written <= 0 { break }
            sent += written
        }
        var received: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
            let count = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if count <= 0 { break }
            received += buffer[..<count]
        }
        let text = String(decoding: received, as: UTF8.self)
        let status = text.split(separator: " ", maxSplits: 2).dropFirst().first.flatMap { Int($0) } ?? 0
        return Answer(status: status, text: text)
    }
}
