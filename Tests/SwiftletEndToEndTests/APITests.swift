import Foundation
import NIOCore
import NIOHTTP1
import Testing

extension EndToEnd {
    /// The OpenFaaS function API under hostile, malformed, oversized and concurrent input.
    @Suite("End to end: API contract and bad input")
    struct APITests {
        static let json = [("Content-Type", "application/json")]

        @Test("basic auth guards /system/* only, exactly as OpenFaaS does")
        func auth() async throws {
            try await TestPlatform.with { platform in
                let anonymous = try await platform.request(.GET, "/system/functions")
                #expect(anonymous.status == 401)
                #expect(anonymous.headers.first(name: "WWW-Authenticate") == #"Basic realm="Restricted""#)
                let wrong = try await platform.request(.GET, "/system/info", headers: [("Authorization", "Basic " + Data("admin:nope".utf8).base64EncodedString())])
                #expect(wrong.status == 401)
                let garbage = try await platform.request(.GET, "/system/info", headers: [("Authorization", "Basic !!!not-base64")])
                #expect(garbage.status == 401)
                let bearer = try await platform.request(.GET, "/system/info", headers: [("Authorization", "Bearer ")])
                #expect(bearer.status == 401)
                let ok = try await platform.request(.GET, "/system/info", auth: true)
                #expect(ok.status == 200)
                let info = try ok.json()
                #expect((info["provider"] as? [String: Any])?["provider"] as? String == "swiftlet")
                #expect(info["arch"] as? String == "x86_64")
                #expect(try await platform.request(.GET, "/healthz").status == 200)
                let namespaces = try await platform.request(.GET, "/system/namespaces", auth: true)
                #expect(namespaces.text == #"["openfaas-fn"]"#)
                // Calls are never behind basic auth.
                #expect(try await platform.request(.GET, "/function/absent").status == 404)
            }
        }

        @Test("with auth off, the empty Bearer header clients send is ignored")
        func authOff() async throws {
            try await TestPlatform.with(auth: false) { platform in
                let answer = try await platform.request(.GET, "/system/functions", headers: [("Authorization", "Bearer ")])
                #expect(answer.status == 200)
                #expect(answer.text == "[]")
            }
        }

        @Test("bad deployments are refused with 400/413/501 and a message, and nothing is stored")
        func badDeployments() async throws {
            try await TestPlatform.with { platform in
                let handler = Data("def handle(e, c):\n    return 'x'\n".utf8)
                let cases: [(String, [String: Any], Int, String)] = [
                    ("uppercase name", ["service": "Hello", "runtime": "python3", "code": handler.base64EncodedString()], 400, "invalid function name"),
                    ("traversal name", ["service": "../etc", "runtime": "python3", "code": handler.base64EncodedString()], 400, "invalid function name"),
                    ("long name", ["service": String(repeating: "a", count: 64), "runtime": "python3", "code": handler.base64EncodedString()], 400, "at most 63"),
                    ("no runtime", ["service": "ok", "code": handler.base64EncodedString()], 400, "python3, node"),
                    ("unknown runtime", ["service": "ok", "runtime": "cobol", "code": handler.base64EncodedString()], 400, "valid runtimes are python3, node"),
                    ("broken base64", ["service": "ok", "runtime": "python3", "code": "@@@not base64@@@"], 400, "not valid base64"),
                    ("no code", ["service": "ok", "runtime": "python3"], 400, "no code given"),
                    ("bad image reference", ["service": "ok", "image": "has space:1"], 400, "image reference"),
                    ("bad memory", ["service": "ok", "runtime": "python3", "code": handler.base64EncodedString(), "limits": ["memory": "lots"]], 400, "memory quantity"),
                    ("bad timeout", ["service": "ok", "runtime": "python3", "code": handler.base64EncodedString(), "envVars": ["exec_timeout": "soon"]], 400, "duration"),
                    ("bad env name", ["service": "ok", "runtime": "python3", "code": handler.base64EncodedString(), "envVars": ["1X": "y"]], 400, "environment variable name"),
                    ("other namespace", ["service": "ok", "runtime": "python3", "code": handler.base64EncodedString(), "namespace": "kube-system"], 400, "namespace"),
                    ("wrong type", ["service": 42, "runtime": "python3"], 400, "wrong type"),
                ]
                for (label, object, status, message) in cases {
                    let body = ByteBuffer(bytes: try JSONSerialization.data(withJSONObject: object))
                    let answer = try await platform.request(.POST, "/system/functions", body: body, headers: Self.json, auth: true)
                    #expect(answer.status == status, "\(label): \(answer.status) \(answer.text)")
                    #expect(answer.text.contains(message), "\(label): \(answer.text)")
                }
                for (label, raw) in [("broken JSON", #"{"service": "x", "#), ("empty body", ""), ("not an object", "[1,2]")] {
                    let answer = try await platform.request(.POST, "/system/functions", body: ByteBuffer(string: raw), headers: Self.json, auth: true)
                    #expect(answer.status == 400, "\(label): \(answer.status) \(answer.text)")
                }
                let oversized = ByteBuffer(repeating: UInt8(ascii: "a"), count: 17 * 1024 * 1024)
                let tooBig = try await platform.request(.POST, "/system/functions", body: oversized, headers: Self.json, auth: true)
                #expect(tooBig.status == 413)
                let bigCode = Data(repeating: 0x41, count: 9 * 1024 * 1024)
                let bigAnswer = try await platform.deploy("big", runtime: "python3", code: bigCode)
                #expect(bigAnswer.status == 413, "\(bigAnswer.text)")
                let list = try await platform.request(.GET, "/system/functions", auth: true)
                #expect(list.text == "[]")
                #expect(try await platform.containers().isEmpty)
            }
        }

        @Test("hostile bundles are refused: ../, absolute paths, links out, no handler")
        func hostileBundles() async throws {
            try await TestPlatform.with { platform in
                let cases: [(String, Data, String)] = [
                    ("dot-dot", try TarFixture.gzip([.file("../evil.py", "x"), .file("handler.py", "def handle(e,c): pass")]), "climbs out"),
                    ("absolute", try TarFixture.gzip([.file("/etc/evil", "x"), .file("handler.py", "def handle(e,c): pass")]), "absolute path"),
                    ("symlink out", try TarFixture.gzip([.symlink("link", "../../../etc/shadow"), .file("handler.py", "def handle(e,c): pass")]), "points out"),
                    ("absolute symlink", try TarFixture.gzip([.symlink("link", "/etc/shadow"), .file("handler.py", "def handle(e,c): pass")]), "absolute path"),
                    ("no handler", try TarFixture.gzip([.file("main.py", "x")]), "no handler.py"),
                    ("corrupt gzip", Data([0x1F, 0x8B, 0x08, 0x00, 0x01, 0x02, 0x03]), "cannot be decompressed"),
                ]
                for (label, code, message) in cases {
                    let answer = try await platform.deploy("bundle", runtime: "python3", code: code)
                    #expect(answer.status == 400, "\(label): \(answer.status) \(answer.text)")
                    #expect(answer.text.contains(message), "\(label): \(answer.text)")
                }
                #expect(try await platform.request(.GET, "/system/functions", auth: true).text == "[]")
                let codeDirectory = platform.dataDirectory + "/code"
                #expect((try? FileManager.default.contentsOfDirectory(atPath: codeDirectory))?.isEmpty ?? true)
            }
        }

        @Test("POST twice is 409, PUT and DELETE of an absent function are 404, GET of one is 404")
        func conflicts() async throws {
            try await TestPlatform.with { platform in
                let code = Data(Handlers.version("one").utf8)
                #expect(try await platform.deploy("dup", runtime: "python3", code: code).status == 202)
                let again = try await platform.deploy("dup", runtime: "python3", code: code)
                #expect(again.status == 409)
                #expect(again.text.contains("already exists"))
                #expect(try await platform.deploy("absent", runtime: "python3", code: code, method: .PUT).status == 404)
                let delete = try await platform.request(.DELETE, "/system/functions", body: ByteBuffer(string: #"{"functionName":"absent"}"#), headers: Self.json, auth: true)
                #expect(delete.status == 404)
                let badDelete = try await platform.request(.DELETE, "/system/functions", body: ByteBuffer(string: #"{"name":"dup"}"#), headers: Self.json, auth: true)
                #expect(badDelete.status == 400)
                #expect(try await platform.request(.GET, "/system/function/absent", auth: true).status == 404)
                #expect(try await platform.request(.GET, "/system/function/dup.openfaas-fn", auth: true).status == 200)
                #expect(try await platform.call("dup.openfaas-fn").text == "one")
                #expect(try await platform.call("dup.other").status == 404)
            }
        }

        @Test("concurrent deploys of one name: exactly one wins, the rest get 409, one function runs")
        func concurrentDeploys() async throws {
            try await TestPlatform.with { platform in
                let statuses = try await withThrowingTaskGroup(of: Int.self) { group in
                    for i in 0..<20 {
                        group.addTask {
                            try await platform.deploy("race", runtime: "python3", code: Data(Handlers.version("v\(i)").utf8)).status
                        }
                    }
                    return try await group.reduce(into: [Int]()) { $0.append($1) }
                }
                #expect(statuses.filter { $0 == 202 }.count == 1)
                #expect(statuses.filter { $0 == 409 }.count == 19)
                let answer = try await platform.call("race")
                #expect(answer.status == 200)
                #expect(answer.text.hasPrefix("v"))
                #expect(try await eventually { try await platform.containers().filter { $0.hasPrefix("race-") }.count == 1 })
            }
        }
    }
}
