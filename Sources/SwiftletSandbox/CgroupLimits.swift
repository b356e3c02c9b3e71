import Foundation
import SwiftletCore

/// Changes the cgroup limits of a running sandbox by writing the controllers' files directly
/// (what `runc update` does, without starting a process): used when a warm sandbox becomes an
/// instance of a function with its own limits.
public struct CgroupLimits: Sendable, Equatable {
    /// The memory limit in bytes (memory and swap together, as at creation).
    public var memoryLimitBytes: Int64
    /// The memory request (soft limit) in bytes, or nil.
    public var memoryRequestBytes: Int64?
    /// The CPU limit in CPUs, or nil for none.
    public var cpuLimit: Double?
    /// The CPU request in CPUs, or nil.
    public var cpuRequest: Double?
    /// The most processes and threads.
    public var pidsLimit: Int64

    /// The limits a sandbox spec starts with.
    public init(_ spec: SandboxSpec) {
        memoryLimitBytes = spec.memoryLimitBytes
        memoryRequestBytes = spec.memoryRequestBytes
        cpuLimit = spec.cpuLimit
        cpuRequest = spec.cpuRequest
        pidsLimit = spec.pidsLimit
    }

    static let period: Int64 = 100_000

    /// Moves the cgroup at `path` (below the controllers' roots) from `old` to these limits.
    /// Throws when the kernel refuses one (like a memory limit below what is in use).
    public func apply(to path: String, from old: CgroupLimits, root: String = "/sys/fs/cgroup") throws {
        if FileManager.default.fileExists(atPath: root + "/cgroup.controllers") {
            try applyUnified(root + path, from: old)
        } else {
            try applyV1(root: root, path: path, from: old)
        }
    }

    private func applyV1(root: String, path: String, from old: CgroupLimits) throws {
        let memory = root + "/memory" + path
        if memoryLimitBytes != old.memoryLimitBytes {
            let swap = memory + "/memory.memsw.limit_in_bytes"
            let hasSwap = FileManager.default.fileExists(atPath: swap)
            // memsw must stay at or above the memory limit at every step.
            if memoryLimitBytes > old.memoryLimitBytes {
                if hasSwap { try Self.write(swap, memoryLimitBytes) }
                try Self.write(memory + "/memory.limit_in_bytes", memoryLimitBytes)
            } else {
                try Self.write(memory + "/memory.limit_in_bytes", memoryLimitBytes)
                if hasSwap { try Self.write(swap, memoryLimitBytes) }
            }
        }
        if memoryRequestBytes != old.memoryRequestBytes {
            try Self.write(memory + "/memory.soft_limit_in_bytes", memoryRequestBytes.map { min($0, memoryLimitBytes) } ?? -1)
        }
        let cpu = root + "/cpu" + path
        if cpuLimit != old.cpuLimit {
            try Self.write(cpu + "/cpu.cfs_period_us", Self.period)
            try Self.write(cpu + "/cpu.cfs_quota_us", cpuLimit.map { Int64(($0 * Double(Self.period)).rounded()) } ?? -1)
        }
        if cpuRequest != old.cpuRequest {
            try Self.write(cpu + "/cpu.shares", Int64(Self.shares(cpuRequest)))
        }
        if pidsLimit != old.pidsLimit {
            try Self.write(root + "/pids" + path + "/pids.max", pidsLimit)
        }
    }

    private func applyUnified(_ directory: String, from old: CgroupLimits) throws {
        if memoryLimitBytes != old.memoryLimitBytes {
            try Self.write(directory + "/memory.max", memoryLimitBytes)
        }
        if memoryRequestBytes != old.memoryRequestBytes {
            try Self.write(directory + "/memory.low", memoryRequestBytes.map { min($0, memoryLimitBytes) } ?? 0)
        }
        if cpuLimit != old.cpuLimit {
            let quota = cpuLimit.map { String(Int64(($0 * Double(Self.period)).rounded())) } ?? "max"
            try Self.write(directory + "/cpu.max", "\(quota) \(Self.period)")
        }
        if cpuRequest != old.cpuRequest {
            // runc's conversion of shares to weight.
            let shares = Self.shares(cpuRequest)
            try Self.write(directory + "/cpu.weight", String(1 + ((shares - 2) * 9999) / 262_142))
        }
        if pidsLimit != old.pidsLimit {
            try Self.write(directory + "/pids.max", pidsLimit)
        }
    }

    /// Like Kubernetes: 1 CPU = 1024 shares, at least 2; no request = the default 1024.
    static func shares(_ request: Double?) -> UInt64 {
        request.map { max(2, UInt64(($0 * 1024).rounded())) } ?? 1024
    }

    private static func write(_ path: String, _ value: Int64) throws {
        try write(path, String(value))
    }

    private static func write(_ path: String, _ value: String) throws {
        let fd = open(path, O_WRONLY | O_CLOEXEC)
        guard fd >= 0 else {
            throw SwiftletError(.internal, "cannot open \(path) (errno \(errno))")
        }
        defer { close(fd) }
        let bytes = Array(value.utf8)
        guard Foundation.write(fd, bytes, bytes.count) == bytes.count else {
            throw SwiftletError(.internal, "the kernel refused \(value) for \(path) (errno \(errno))")
        }
    }
}
