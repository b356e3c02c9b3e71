import Foundation
import Testing

extension EndToEnd {
    /// How a function's limits reach its sandbox. What a function cannot do from inside (files,
    /// system calls, network, other instances, fork bombs, memory hogs) is the attack suite's:
    /// `Security/AttackSuiteTests.swift`.
    @Suite("End to end: isolation")
    struct IsolationTests {
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
