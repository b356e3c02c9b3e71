import Foundation
import SwiftletCore

/// Reads what a sandbox's cgroup has used: memory now and CPU time so far, from the controllers'
/// files (cgroup v1 `memory.usage_in_bytes` and `cpuacct.usage`; v2 `memory.current` and
/// `cpu.stat`).
public enum CgroupUsage {
    /// Reads the usage of the cgroup at `path` (below the controllers' roots), or nil when its
    /// files are gone (the sandbox stopped) or unreadable.
    public static func read(path: String, root: String = "/sys/fs/cgroup") -> InstanceUsage? {
        if FileManager.default.fileExists(atPath: root + "/cgroup.controllers") {
            guard let memory = number(root + path + "/memory.current"),
                let stat = try? String(contentsOfFile: root + path + "/cpu.stat", encoding: .utf8),
                let line = stat.split(separator: "\n").first(where: { $0.hasPrefix("usage_usec ") }),
                let micros = Int64(line.dropFirst("usage_usec ".count))
            else { return nil }
            return InstanceUsage(memoryBytes: memory, cpuSeconds: Double(micros) / 1_000_000)
        }
        guard let memory = number(root + "/memory" + path + "/memory.usage_in_bytes"),
            let nanos = number(root + "/cpuacct" + path + "/cpuacct.usage")
        else { return nil }
        return InstanceUsage(memoryBytes: memory, cpuSeconds: Double(nanos) / 1_000_000_000)
    }

    private static func number(_ file: String) -> Int64? {
        guard let text = try? String(contentsOfFile: file, encoding: .utf8) else { return nil }
        return Int64(text.trimmingCharacters(in: .whitespacesAndNewlines))
    }
}
