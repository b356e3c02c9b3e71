import Foundation
import NIOCore
import SwiftletCore
import SwiftletProviders
import Testing

extension EndToEnd {
    /// The hardened tier on the native provider: gVisor's runsc in a network namespace made
    /// beforehand, with the same data path as runc. Nothing here sends traffic beyond loopback.
    @Suite("End to end: the hardened tier (gVisor)", .serialized)
    struct HardenedTierTests {
        static let json = [("Content-Type", "application/json")]

        /// What the instance sees of its kernel, ids, network and files.
        static let inside = Handlers.attempts + #"""
            def handle(event, context):
                status = dict(line.split(":", 1) for line in open("/proc/self/status") if ":" in line)
                secrets = "/var/openfaas/secrets"
                return {"statusCode": 200, "body": {
                    "kernel": open("/proc/version").read(),
                    "uid": os.getuid(), "CapEff": status.get("CapEff", "").strip(),
                    "uid_map": " ".join(open("/proc/self/uid_map").read().split()),
                    "netdev": [l.split(":")[0].strip() for l in open("/proc/net/dev").read().splitlines()[2:]],
                    "routes": open("/proc/net/route").read().splitlines()[1:],
                    "write_root": attempt(lambda: write("/x")), "write_code": attempt(lambda: write("/home/app/function/x")),
                    "write_tmp": attempt(lambda: write("/tmp/x")),
                    "secret": open(secrets + "/tier-secret").read() if os.path.exists(secrets + "/tier-secret") else None,
                    "hostname": os.uname().nodename}}
            """#

        static let nodeHello = """
            module.exports = async (event, context) => context.status(200).succeed("node under " + require("fs").readFileSync("/proc/version", "utf8").slice(0, 20));
            """

        @Test("python and node functions run under runsc with the same data path, secrets and a read-only root; removal leaves no sandbox or namespace")
        func runsUnderGVisor() async throws {
            try await TestPlatform.with { platform in
                let secret = try await platform.request(
                    .POST, "/system/secrets", body: ByteBuffer(string: #"{"name":"tier-secret","value":"gv-secret"}"#), headers: Self.json, auth: true
                )
                #expect(secret.status == 201 || secret.status == 200, "\(secret.status) \(secret.text)")
                try await platform.deployOK("gv", runtime: "python3", source: Self.inside, extra: ["isolation": "hardened", "secrets": ["tier-secret"]])
                try await platform.deployOK("gv-node", runtime: "node", source: Self.nodeHello, extra: ["labels": [IsolationTier.label: "hardened"]])
                try await platform.deployOK("rc", runtime: "python3", source: Self.inside)

                let answer = try await platform.call("gv")
                #expect(answer.status == 200, "\(answer.text)")
                let json = try answer.json()
                #expect((json["kernel"] as? String)?.contains("4.4.0") == true, "gVisor reports its own kernel: \(json["kernel"] ?? "")")
                #expect(json["uid"] as? Int == 10001)
                #expect(json["CapEff"] as? String == "0000000000000000")
                #expect(json["netdev"] as? [String] == ["lo"])
                #expect(json["routes"] as? [String] == [])
                // gVisor checks permissions before the read-only flag: EACCES where Linux says EROFS.
                #expect(["EROFS", "EACCES"].contains(json["write_root"] as? String ?? "ok"), "\(json["write_root"] ?? "")")
                #expect(["EROFS", "EACCES"].contains(json["write_code"] as? String ?? "ok"), "\(json["write_code"] ?? "")")
                #expect(json["write_tmp"] as? String == "ok")
                #expect(json["secret"] as? String == "gv-secret")
                #expect((json["hostname"] as? String)?.hasPrefix("gv-") == true)

                let node = try await platform.call("gv-node", method: .POST, body: ByteBuffer(string: "x"))
                #expect(node.status == 200 && node.text.hasPrefix("node under Linux version 4.4.0"), "\(node.status) \(node.text)")

                let standard = try await platform.call("rc").json()
                #expect((standard["kernel"] as? String)?.contains("4.4.0") == false, "the standard tier runs on the host kernel")

                // The runtimes' own views: two runsc sandboxes, one runc container.
                let hardened = try await platform.host.hardenedRuntime.list()
                #expect(Set(hardened.map { String($0.prefix(while: { $0 != "-" })) }) == ["gv"], "\(hardened)")
                #expect(hardened.count == 2)
                #expect(try await platform.host.runtime.list().allSatisfy { $0.hasPrefix("rc-") })

                // A call that writes a body and reads it back goes through the same proxy path.
                let big = String(repeating: "g", count: 300_000)
                let echo = try await platform.call("gv-node", method: .POST, body: ByteBuffer(string: big))
                #expect(echo.status == 200)

                for name in ["gv", "gv-node"] {
                    let removed = try await platform.request(
                        .DELETE, "/system/functions", body: ByteBuffer(string: #"{"functionName":"\#(name)"}"#), headers: Self.json, auth: true
                    )
                    #expect(removed.status == 200 || removed.status == 202, "\(removed.status) \(removed.text)")
                }
                #expect(try await eventually { try await platform.host.hardenedRuntime.list().isEmpty })
                let mounts = try String(contentsOfFile: "/proc/self/mountinfo", encoding: .utf8)
                #expect(!mounts.contains(platform.host.bundles + "/gv"), "no namespace file or secrets mount is left")
            }
        }

        @Test("an image function runs hardened as its own user, writable or read-only root", arguments: [false, true])
        func imageFunction(readOnly: Bool) async throws {
            try await TestPlatform.with { platform in
                try await ImageFunctionTests.deployBusyHTTPD(
                    platform, "gv-web", extra: ["isolation": "hardened", "readOnlyRootFilesystem": readOnly, "envVars": ["GREETING": "gv"]]
                )
                let index = try await platform.call("gv-web")
                #expect(index.status == 200 && index.text == "hello from an image\n", "\(index.status) \(index.text)")
                let echo = try await platform.call("gv-web", path: "/cgi-bin/echo?x=1", method: .POST, body: ByteBuffer(string: "body!"))
                #expect(echo.text.contains("uid=1000 greeting=gv"), "\(echo.text)")
                #expect(try await platform.host.hardenedRuntime.list().count == 1)
                #expect(try await platform.host.runtime.list().isEmpty)
            }
        }

        @Test("--default-isolation hardened runs functions that choose no tier under runsc; an explicit standard stays on runc")
        func defaultIsolation() async throws {
            try await TestPlatform.with(native: { $0.defaultIsolation = .hardened }) { platform in
                try await platform.deployOK("plain", runtime: "python3", source: Self.inside)
                try await platform.deployOK("chosen", runtime: "python3", source: Self.inside, extra: ["isolation": "standard"])
                let plain = try await platform.call("plain").json()
                let chosen = try await platform.call("chosen").json()
                #expect((plain["kernel"] as? String)?.contains("4.4.0") == true)
                #expect((chosen["kernel"] as? String)?.contains("4.4.0") == false)
                #expect(try await platform.host.hardenedRuntime.list().allSatisfy { $0.hasPrefix("plain-") })
                #expect(try await platform.host.runtime.list().allSatisfy { $0.hasPrefix("chosen-") })
            }
        }

        @Test("a host without runsc refuses hardened deploys with what to install and stores nothing; standard still works")
        func runscMissing() async throws {
            try await TestPlatform.with(native: { $0.hardenedRuntimePath = "/nonexistent/runsc" }) { platform in
                let code = Data(Self.inside.utf8)
                for extra: [String: Any] in [["isolation": "hardened"], ["labels": [IsolationTier.label: "hardened"]]] {
                    let answer = try await platform.deploy("wants-gvisor", runtime: "python3", code: code, extra: extra)
                    #expect(answer.status == 501, "\(answer.status) \(answer.text)")
                    #expect(answer.text.contains("apt-get install runsc"), "\(answer.text)")
                }
                let list = try await platform.request(.GET, "/system/functions", auth: true)
                #expect(list.text == "[]", "nothing was stored: \(list.text)")
                try await platform.deployOK("fine", runtime: "python3", source: Self.inside)
                #expect(try await platform.call("fine").status == 200)
            }
        }

        @Test("--default-isolation hardened on a host without runsc refuses to start, saying why")
        func defaultHardenedWithoutRunsc() async throws {
            let error = await #expect(throws: SwiftletError.self) {
                try await TestPlatform.with(native: {
                    $0.defaultIsolation = .hardened
                    $0.hardenedRuntimePath = "/nonexistent/runsc"
                }) { _ in }
            }
            #expect(error?.message.contains("--default-isolation hardened needs gVisor") == true, "\(String(describing: error))")
            #expect(error?.message.contains("apt-get install runsc") == true)
        }

        @Test("a hardened function scales to zero, wakes on a call, and a crashed instance is replaced")
        func lifecycle() async throws {
            try await TestPlatform.with { platform in
                try await platform.deployOK("cycle", runtime: "python3", source: Handlers.crashes, extra: ["isolation": "hardened", "labels": ["com.openfaas.scale.zero": "true"]])
                #expect(try await platform.call("cycle").status == 200)
                let scaled = try await platform.request(
                    .POST, "/system/scale-function/cycle", body: ByteBuffer(string: #"{"replicas":0}"#), headers: Self.json, auth: true
                )
                #expect(scaled.status == 200 || scaled.status == 202, "\(scaled.status) \(scaled.text)")
                #expect(try await eventually { try await platform.host.hardenedRuntime.list().isEmpty })
                #expect(try await platform.call("cycle").status == 200, "a call wakes it")
                let crash = try await platform.call("cycle", path: "/crash")
                #expect(crash.status == 502, "\(crash.status) \(crash.text)")
                #expect(try await eventually(timeout: .seconds(20)) { try await platform.call("cycle").status == 200 })
            }
        }
    }
}
