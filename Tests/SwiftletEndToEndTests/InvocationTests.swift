import Crypto
import Foundation
import NIOCore
import NIOHTTP1
import Testing

extension EndToEnd {
    /// Deploy and call real functions in real runc sandboxes.
    @Suite("End to end: invocation")
    struct InvocationTests {
        @Test("python3: every method, path, query, headers and call ids reach the handler (new sandbox, and warm sandbox specialised)", arguments: [false, true])
        func pythonEcho(pooled: Bool) async throws {
            try await TestPlatform.with(warmPool: pooled ? .default : .disabled) { platform in
                try await platform.deployOK("echo", runtime: "python3", source: Handlers.pythonEcho)
                for method in [HTTPMethod.GET, .POST, .PUT, .PATCH, .DELETE, .OPTIONS] {
                    let answer = try await platform.call(
                        "echo", path: "/a/b?x=1&y=two", method: method, body: method == .GET ? nil : ByteBuffer(string: "hello"),
                        headers: [("X-Custom", "value-\(method.rawValue)"), ("X-Call-Id", "call-\(method.rawValue)")]
                    )
                    #expect(answer.status == 200, "\(method) answered \(answer.status): \(answer.text)")
                    let json = try answer.json()
                    #expect(json["method"] as? String == method.rawValue)
                    #expect(json["path"] as? String == "/a/b")
                    #expect(json["query"] as? [String: String] == ["x": "1", "y": "two"])
                    let headers = try #require(json["headers"] as? [String: String])
                    #expect(headers["x-custom"] == "value-\(method.rawValue)")
                    #expect(headers["x-call-id"] == "call-\(method.rawValue)")
                    #expect(headers["x-forwarded-for"] == "127.0.0.1")
                    #expect(answer.headers.first(name: "X-Call-Id") == "call-\(method.rawValue)")
                    #expect(answer.headers.first(name: "X-Echo-Method") == method.rawValue)
                    let startTime = try #require(answer.headers.first(name: "X-Start-Time").flatMap(Int64.init))
                    #expect(abs(Double(startTime) / 1e9 - Date().timeIntervalSince1970) < 60)
                    if method != .GET {
                        #expect(json["length"] as? Int == 5)
                    }
                }
                let head = try await platform.call("echo", method: .HEAD)
                #expect(head.status == 200)
                #expect(head.body.readableBytes == 0)
                // Without a caller's id the gateway makes a UUID.
                let fresh = try await platform.call("echo")
                #expect(UUID(uuidString: fresh.headers.first(name: "X-Call-Id") ?? "") != nil)
            }
        }

        @Test("binary and 5 MiB bodies round-trip byte for byte")
        func binaryBodies() async throws {
            try await TestPlatform.with { platform in
                try await platform.deployOK("mirror", runtime: "python3", source: Handlers.pythonMirror)
                let allBytes = ByteBuffer(bytes: Array(0...255) + Array((0...255).reversed()))
                let small = try await platform.call("mirror", method: .POST, body: allBytes)
                #expect(small.status == 200)
                #expect(small.body == allBytes)
                var generator = SystemRandomNumberGenerator()
                let big = ByteBuffer(bytes: (0..<(5 * 1024 * 1024)).map { _ in UInt8.random(in: 0...255, using: &generator) })
                let answer = try await platform.call("mirror", method: .POST, body: big)
                #expect(answer.status == 200)
                #expect(answer.body.readableBytes == big.readableBytes)
                #expect(Data(SHA256.hash(data: Data(answer.body.readableBytesView))) == Data(SHA256.hash(data: Data(big.readableBytesView))))
            }
        }

        @Test("node: the node18 contract (JSON body parsed, status and headers from context), with and without the warm pool", arguments: [false, true])
        func nodeEcho(pooled: Bool) async throws {
            try await TestPlatform.with(warmPool: pooled ? .default : .disabled) { platform in
                try await platform.deployOK("nodeecho", runtime: "node", source: Handlers.nodeEcho)
                let answer = try await platform.call(
                    "nodeecho", path: "/items/7?q=search", method: .POST, body: ByteBuffer(string: #"{"a":1}"#),
                    headers: [("Content-Type", "application/json")]
                )
                #expect(answer.status == 200, "\(answer.text)")
                #expect(answer.headers.first(name: "X-Runtime") == "node")
                let json = try answer.json()
                #expect(json["method"] as? String == "POST")
                #expect(json["path"] as? String == "/items/7")
                #expect((json["query"] as? [String: String])?["q"] == "search")
                #expect((json["body"] as? [String: Int])?["a"] == 1)
                let bytes = ByteBuffer(bytes: Array(0...255))
                let binary = try await platform.call("nodeecho", method: .PUT, body: bytes, headers: [("Content-Type", "application/octet-stream")])
                #expect(try binary.json()["length"] as? Int == 256)
            }
        }

        @Test("errors: unknown function 404, handler raises 500, crash 502, timeout 504, body too large 413")
        func errors() async throws {
            try await TestPlatform.with(maxBodyBytes: 1024 * 1024) { platform in
                let unknown = try await platform.call("nothing-here")
                #expect(unknown.status == 404)
                #expect(unknown.text.contains("not found"))

                try await platform.deployOK("raises", runtime: "python3", source: Handlers.raises)
                let raised = try await platform.call("raises")
                #expect(raised.status == 500)
                #expect(raised.text.contains("ValueError"))
                #expect(!raised.text.contains("Traceback"))
                #expect(try await eventually { platform.logs.all.contains { $0.contains("boom from the handler") } })

                try await platform.deployOK("crashes", runtime: "python3", source: Handlers.crashes)
                #expect(try await platform.call("crashes").status == 200)
                let crashed = try await platform.call("crashes", path: "/crash")
                #expect(crashed.status == 502)
                // The instance is replaced and the function answers again.
                #expect(try await eventually { try await platform.call("crashes").status == 200 })

                try await platform.deployOK("sleeps", runtime: "python3", source: Handlers.sleeps, extra: ["envVars": ["exec_timeout": "1s"]])
                #expect(try await platform.call("sleeps", path: "?s=0").status == 200)
                let clock = ContinuousClock()
                let start = clock.now
                let slow = try await platform.call("sleeps", path: "?s=5")
                #expect(slow.status == 504)
                #expect(clock.now - start < .seconds(4))
                #expect(try await eventually { try await platform.call("sleeps", path: "?s=0").status == 200 })

                try await platform.deployOK("mirror", runtime: "python3", source: Handlers.pythonMirror)
                let tooBig = try await platform.call("mirror", method: .POST, body: ByteBuffer(repeating: 1, count: 1024 * 1024 + 1))
                #expect(tooBig.status == 413)
                let fits = try await platform.call("mirror", method: .POST, body: ByteBuffer(repeating: 1, count: 1024 * 1024))
                #expect(fits.status == 200)
                #expect(fits.body.readableBytes == 1024 * 1024)
            }
        }

        @Test("many concurrent calls all succeed on pooled connections")
        func concurrentCalls() async throws {
            try await TestPlatform.with { platform in
                try await platform.deployOK("echo", runtime: "python3", source: Handlers.pythonEcho)
                let statuses = try await withThrowingTaskGroup(of: Int.self) { group in
                    for i in 0..<200 {
                        group.addTask { try await platform.call("echo", path: "?i=\(i)").status }
                    }
                    return try await group.reduce(into: [Int]()) { $0.append($1) }
                }
                #expect(statuses.count == 200)
                #expect(statuses.allSatisfy { $0 == 200 })
            }
        }
    }
}
