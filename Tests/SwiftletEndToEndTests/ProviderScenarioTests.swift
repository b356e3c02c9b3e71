import AsyncHTTPClient
import Foundation
import NIOCore
import SwiftletCore
import SwiftletDocker
import Testing

/// The same end-to-end scenarios against every provider: what a user does with a function must
/// not depend on what runs its instances.
extension EndToEnd {
    @Suite("End to end: every provider")
    struct ProviderScenarioTests {
        static let json = [("Content-Type", "application/json")]

        /// The function's instances as the provider sees them (runc containers or engine containers).
        static func instances(_ platform: TestPlatform, of function: String? = nil) async throws -> [String] {
            switch platform.kind {
            case .native:
                return try await platform.containers().filter { function == nil || $0.hasPrefix(function! + "-") }
            case .docker:
                let provider = try #require(platform.provider as? DockerProvider)
                var labels = ["\(DockerLabels.platform)=\(provider.platformID)"]
                if let function { labels.append("\(DockerLabels.function)=\(function)") }
                return try await provider.engine.listContainers(labels: labels).map(\.Id)
            }
        }

        static func status(_ platform: TestPlatform, _ name: String) async throws -> [String: Any] {
            let answer = try await platform.request(.GET, "/system/function/\(name)", auth: true)
            #expect(answer.status == 200, "status of \(name): \(answer.status) \(answer.text)")
            return try answer.json()
        }

        @Test("deploy, invoke, update, scale, remove", arguments: ProviderKind.allCases)
        func lifecycle(provider: ProviderKind) async throws {
            try await TestPlatform.with(provider: provider) { platform in
                try await platform.deployOK("life", runtime: "python3", source: Handlers.version("one"))
                var answer = try await platform.call("life", method: .POST, body: ByteBuffer(string: "x"))
                #expect(answer.status == 200 && answer.text == "one", "\(provider): \(answer.status) \(answer.text)")

                // A PUT rolls to the new code; calls keep answering during the roll.
                let update = try await platform.deploy("life", runtime: "python3", code: Data(Handlers.version("two").utf8), method: .PUT)
                #expect(update.status == 202 || update.status == 200, "update: \(update.status) \(update.text)")
                var sawTwo = false
                let deadline = ContinuousClock.now + .seconds(30)
                while !sawTwo && ContinuousClock.now < deadline {
                    answer = try await platform.call("life")
                    #expect(answer.status == 200, "during the update: \(answer.status) \(answer.text)")
                    sawTwo = answer.text == "two"
                    if !sawTwo { try await Task.sleep(for: .milliseconds(100)) }
                }
                #expect(sawTwo, "\(provider): the update never served")

                let scale = try await platform.request(
                    .POST, "/system/scale-function/life", body: ByteBuffer(string: #"{"serviceName":"life","replicas":2}"#), headers: Self.json,
                    auth: true
                )
                #expect(scale.status == 202 || scale.status == 200, "scale: \(scale.status) \(scale.text)")
                let two = try await eventually(timeout: .seconds(30)) {
                    (try await Self.status(platform, "life")["availableReplicas"] as? Int) == 2
                }
                #expect(two, "\(provider): 2 instances never became available")
                #expect(try await Self.instances(platform, of: "life").count == 2)

                let removed = try await platform.request(
                    .DELETE, "/system/functions", body: ByteBuffer(string: #"{"functionName":"life"}"#), headers: Self.json, auth: true
                )
                #expect(removed.status == 200 || removed.status == 202, "delete: \(removed.status) \(removed.text)")
                #expect(try await platform.call("life").status == 404)
                var left: [String] = []
                let gone = try await eventually(timeout: .seconds(20)) {
                    left = try await Self.instances(platform, of: "life")
                    return left.isEmpty
                }
                #expect(gone, "\(provider): instances left after delete: \(left)")
            }
        }

        @Test("secrets are files in /var/openfaas/secrets, read-only to the function", arguments: ProviderKind.allCases)
        func secrets(provider: ProviderKind) async throws {
            try await TestPlatform.with(provider: provider) { platform in
                let create = try await platform.request(
                    .POST, "/system/secrets", body: ByteBuffer(string: #"{"name":"db-pass","value":"s3cr3t-\#(provider)"}"#), headers: Self.json,
                    auth: true
                )
                #expect(create.status == 201 || create.status == 200 || create.status == 202, "secret: \(create.status) \(create.text)")
                let source = #"""
                    import os
                    def handle(event, context):
                        path = "/var/openfaas/secrets/db-pass"
                        try:
                            open(path, "a").write("x")
                            writable = "yes"
                        except OSError:
                            writable = "no"
                        return {"statusCode": 200, "body": open(path).read() + "|" + writable + "|" + oct(os.stat(path).st_mode & 0o777)}
                    """#
                try await platform.deployOK("sec", runtime: "python3", source: source, extra: ["secrets": ["db-pass"]])
                let answer = try await platform.call("sec")
                #expect(answer.status == 200)
                #expect(answer.text == "s3cr3t-\(provider)|no|0o400", "\(provider): \(answer.text)")
            }
        }

        @Test("instance output reaches GET /system/logs", arguments: ProviderKind.allCases)
        func logs(provider: ProviderKind) async throws {
            try await TestPlatform.with(provider: provider) { platform in
                let marker = "marker-\(UInt32.random(in: 0...UInt32.max))"
                let source = """
                    import sys
                    def handle(event, context):
                        print("\(marker) out", flush=True)
                        print("\(marker) err", file=sys.stderr, flush=True)
                        return {"statusCode": 200, "body": "logged"}
                    """
                try await platform.deployOK("talk", runtime: "python3", source: source)
                #expect(try await platform.call("talk").status == 200)
                var text = ""
                let seen = try await eventually(timeout: .seconds(15)) {
                    text = try await platform.request(.GET, "/system/logs?name=talk&tail=50", auth: true).text
                    return text.contains("\(marker) out") && text.contains("\(marker) err")
                }
                #expect(seen, "\(provider): the log lines never arrived: \(text.suffix(500))")
                for line in text.split(separator: "\n") where line.contains(marker) {
                    let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
                    #expect(object["name"] as? String == "talk")
                    #expect((object["instance"] as? String)?.hasPrefix("talk-") == true)
                }
            }
        }

        @Test("scale to zero, then a call wakes the function", arguments: ProviderKind.allCases)
        func scaleToZeroAndBack(provider: ProviderKind) async throws {
            try await TestPlatform.with(provider: provider) { platform in
                try await platform.deployOK(
                    "nap", runtime: "node", source: Handlers.nodeEcho, extra: ["labels": ["com.openfaas.scale.zero": "true"]]
                )
                #expect(try await platform.call("nap").status == 200)
                let scale = try await platform.request(
                    .POST, "/system/scale-function/nap", body: ByteBuffer(string: #"{"serviceName":"nap","replicas":0}"#), headers: Self.json, auth: true
                )
                #expect(scale.status == 202 || scale.status == 200, "scale: \(scale.status) \(scale.text)")
                let zero = try await eventually(timeout: .seconds(20)) { try await Self.instances(platform, of: "nap").isEmpty }
                #expect(zero, "\(provider): instances left at zero")
                let woken = try await platform.call("nap", method: .POST, body: ByteBuffer(string: "wake"))
                #expect(woken.status == 200, "\(provider): \(woken.status) \(woken.text)")
                #expect(try await Self.instances(platform, of: "nap").count == 1)
            }
        }

        @Test("an async call runs and its result is stored", arguments: ProviderKind.allCases)
        func asyncCall(provider: ProviderKind) async throws {
            try await TestPlatform.with(provider: provider) { platform in
                try await platform.deployOK("later", runtime: "python3", source: Handlers.pythonMirror)
                let queued = try await platform.request(.POST, "/async-function/later", body: ByteBuffer(string: "payload-\(provider)"))
                #expect(queued.status == 202)
                let id = try #require(queued.headers.first(name: "X-Call-Id"))
                var report: [String: Any] = [:]
                let done = try await eventually(timeout: .seconds(30)) {
                    report = try await platform.request(.GET, "/system/async/\(id)", auth: true).json()
                    return report["status"] as? String == "succeeded"
                }
                #expect(done, "\(provider): \(report)")
                let result = report["result"] as? [String: Any]
                #expect(result?["body"] as? String == "payload-\(provider)", "\(provider): \(report)")
            }
        }

        @Test("from inside: no capabilities, no new privileges, seccomp, only lo, no route, read-only root", arguments: ProviderKind.allCases)
        func isolation(provider: ProviderKind) async throws {
            try await TestPlatform.with(provider: provider) { platform in
                try await platform.deployOK("probe", runtime: "python3", source: Handlers.probe)
                let answer = try await platform.call("probe", path: "?port=\(platform.port)")
                #expect(answer.status == 200, "\(answer.text)")
                let report = try answer.json()
                #expect(report["uid"] as? Int == 10001)
                #expect(report["CapEff"] as? String == "0000000000000000")
                #expect(report["NoNewPrivs"] as? String == "1")
                #expect(report["Seccomp"] as? String == "2")
                #expect(report["netdev"] as? [String] == ["lo"], "\(provider): \(report["netdev"] ?? "?")")
                #expect((report["routes"] as? [String])?.isEmpty == true)
                #expect(report["write_root"] as? String == "EROFS")
                #expect(report["write_usr"] as? String == "EROFS")
                #expect(report["write_tmp"] as? String == "ok")
                #expect(report["shadow"] as? String != "ok")
                // The gateway listens on the host's loopback: not reachable from the instance's own.
                #expect(report["connect_host_port"] as? String == "ECONNREFUSED", "\(provider): \(report["connect_host_port"] ?? "?")")
            }
        }
    }
}
