import Foundation
import NIOCore
import NIOPosix
import Testing

extension EndToEnd {
    /// What a function can and cannot do from inside its sandbox. Nothing here sends traffic
    /// beyond loopback: the network is inspected through /proc, and the only connection tried is to
    /// a listener this test runs on the host's loopback.
    @Suite("End to end: isolation")
    struct IsolationTests {
        @Test("non-root, no capabilities, no new privileges, seccomp, only lo, read-only code")
        func hardening() async throws {
            // A listener on the host's loopback that the function must not reach.
            let listener = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .bind(host: "127.0.0.1", port: 0).get()
            defer { listener.close(promise: nil) }
            let hostPort = try #require(listener.localAddress?.port)

            try await TestPlatform.with { platform in
                try await platform.deployOK("probe", runtime: "python3", source: Handlers.probe)
                let secret = platform.dataDirectory + "/basic-auth-password"
                try Data("secret".utf8).write(to: URL(fileURLWithPath: secret))
                let answer = try await platform.call("probe", path: "?port=\(hostPort)&read=\(secret)")
                #expect(answer.status == 200, "\(answer.text)")
                let json = try answer.json()
                #expect(json["uid"] as? Int != 0)
                #expect(json["gid"] as? Int != 0)
                #expect(json["CapEff"] as? String == "0000000000000000")
                #expect(json["CapPrm"] as? String == "0000000000000000")
                #expect(json["CapBnd"] as? String == "0000000000000000")
                #expect(json["NoNewPrivs"] as? String == "1")
                #expect(json["Seccomp"] as? String == "2")
                #expect(json["netdev"] as? [String] == ["lo"])
                #expect(json["routes"] as? [String] == [])
                #expect(json["shadow"] as? String == "ENOENT")
                #expect(json["target"] as? String == "ENOENT", "the data directory must not be visible")
                #expect(json["kcore"] as? String != "ok")
                #expect(json["proc1root"] as? String != "ok")
                #expect(json["write_code"] as? String == "EROFS")
                #expect(json["write_root"] as? String == "EROFS")
                #expect(json["write_usr"] as? String == "EROFS")
                #expect(json["write_tmp"] as? String == "ok")
                #expect(json["unshare_user"] as? String == "EPERM")
                #expect(json["unshare_net"] as? String == "EPERM")
                #expect(json["mount"] as? String == "EPERM")
                #expect(json["connect_host_port"] as? String == "ECONNREFUSED")
                #expect((json["hostname"] as? String)?.hasPrefix("probe-") == true)
            }
        }

        @Test("a fork bomb stops at the pids limit and the function keeps serving")
        func forkBomb() async throws {
            try await TestPlatform.with { platform in
                try await platform.deployOK("bomb", runtime: "python3", source: Handlers.forkBomb, extra: ["limits": ["memory": "1Gi"]])
                try await platform.deployOK("bystander", runtime: "python3", source: Handlers.version("fine"))
                #expect(try await platform.call("bystander").text == "fine")
                let answer = try await platform.call("bomb", path: "/bomb", timeout: .seconds(60))
                #expect(answer.status == 200, "\(answer.text)")
                let json = try answer.json()
                let children = try #require(json["children"] as? Int)
                #expect(children > 10 && children < 256, "children: \(children)")
                #expect(json["error"] as? String == "Resource temporarily unavailable")
                #expect(try await platform.call("bystander").text == "fine")
                #expect(try await eventually { try await platform.call("bomb").text == "calm" })
            }
        }

        @Test("a memory hog is killed at its limit without harming other instances")
        func memoryHog() async throws {
            try await TestPlatform.with { platform in
                try await platform.deployOK("hog", runtime: "python3", source: Handlers.memoryHog, extra: ["limits": ["memory": "64Mi"]])
                try await platform.deployOK("bystander", runtime: "python3", source: Handlers.version("fine"))
                #expect(try await platform.call("hog").text == "small")
                #expect(try await platform.call("bystander").text == "fine")
                let answer = try await platform.call("hog", path: "/hog", timeout: .seconds(60))
                #expect(answer.status == 502, "\(answer.status): \(answer.text)")
                #expect(try await platform.call("bystander").text == "fine")
                // The hog's instance is replaced and serves small calls again.
                #expect(try await eventually(timeout: .seconds(20)) { try await platform.call("hog").text == "small" })
            }
        }

        @Test("limits and requests become the instance's cgroup settings")
        func cgroupLimits() async throws {
            try await TestPlatform.with { platform in
                try await platform.deployOK(
                    "limited", runtime: "python3", source: Handlers.version("ok"),
                    extra: ["limits": ["memory": "96Mi", "cpu": "500m"], "requests": ["memory": "32Mi", "cpu": "250m"]]
                )
                #expect(try await platform.call("limited").text == "ok")
                let id = try #require(try await platform.containers().first { $0.hasPrefix("limited-") })
                let base = platform.host.cgroupParent + "/" + id
                func read(_ controller: String, _ file: String) -> String? {
                    for root in ["/sys/fs/cgroup/\(controller)", "/sys/fs/cgroup/\(controller),cpuacct", "/sys/fs/cgroup"] {
                        if let text = try? String(contentsOfFile: root + base + "/" + file, encoding: .utf8) {
                            return text.trimmingCharacters(in: .whitespacesAndNewlines)
                        }
                    }
                    return nil
                }
                if FileManager.default.fileExists(atPath: "/sys/fs/cgroup/memory") {
                    #expect(read("memory", "memory.limit_in_bytes") == String(96 * 1024 * 1024))
                    #expect(read("memory", "memory.soft_limit_in_bytes") == String(32 * 1024 * 1024))
                    #expect(read("cpu", "cpu.cfs_quota_us") == "50000")
                    #expect(read("cpu", "cpu.cfs_period_us") == "100000")
                    #expect(read("cpu", "cpu.shares") == "256")
                    #expect(read("pids", "pids.max") == "256")
                } else {
                    #expect(read("", "memory.max") == String(96 * 1024 * 1024))
                    #expect(read("", "cpu.max") == "50000 100000")
                    #expect(read("", "pids.max") == "256")
                }
            }
        }
    }
}
