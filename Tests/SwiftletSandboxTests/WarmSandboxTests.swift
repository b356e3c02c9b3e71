import Foundation
import SwiftletCore
import Testing

@testable import SwiftletSandbox

/// The host-side pieces of warm sandboxes and secrets: the bundle's mounts, the secrets tmpfs
/// and the cgroup rewrite. Mount tests use real mounts in temporary directories (root).
@Suite struct WarmSandboxTests {
    private func temporaryDirectory() throws -> String {
        let path = FileManager.default.temporaryDirectory.path + "/swiftlet-warm-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    private func spec(id: String, warm: Bool, secrets: [String: Data]?) -> SandboxSpec {
        var spec = SandboxSpec(id: id, args: ["/usr/bin/true"], env: [])
        spec.warm = warm
        spec.secrets = secrets
        return spec
    }

    @Test("a warm sandbox binds empty code slots with rslave and always gets a secrets directory")
    func warmBundleMounts() throws {
        let host = SandboxHost(dataDirectory: "/tmp/swiftlet-warm-data", runBase: "/tmp/swiftlet-warm-run")
        let config = BundleBuilder(host: host).config(for: spec(id: "warm-python3-1", warm: true, secrets: nil))
        let bundle = host.bundles + "/warm-python3-1"
        let function = try #require(config.mounts.first { $0.destination == "/home/app/function" })
        #expect(function.source == bundle + "/hub/function")
        #expect(Set(function.options).isSuperset(of: ["ro", "rslave", "nosuid", "nodev"]))
        let python = try #require(config.mounts.first { $0.destination == "/home/app/python" })
        #expect(python.options.contains("rslave"))
        let secrets = try #require(config.mounts.first { $0.destination == "/var/openfaas/secrets" })
        #expect(secrets.source == bundle + "/secrets")
        #expect(secrets.options.contains("ro"))
    }

    @Test("a cold sandbox mounts secrets only when the function has some, and no code slots")
    func coldBundleMounts() {
        let host = SandboxHost(dataDirectory: "/tmp/swiftlet-warm-data", runBase: "/tmp/swiftlet-warm-run")
        let none = BundleBuilder(host: host).config(for: spec(id: "f-1", warm: false, secrets: nil))
        #expect(!none.mounts.contains { $0.destination == "/var/openfaas/secrets" })
        #expect(!none.mounts.contains { $0.options.contains("rslave") })
        let some = BundleBuilder(host: host).config(for: spec(id: "f-2", warm: false, secrets: ["a": Data("x".utf8)]))
        #expect(some.mounts.contains { $0.destination == "/var/openfaas/secrets" })
    }

    @Test("secrets land in a private tmpfs as 0400 files owned by the function's uid, and go with the bundle")
    func secretsTmpfs() throws {
        let bundle = try temporaryDirectory()
        defer { SandboxInstance.removeBundle(bundle) }
        var spec = spec(id: "f-3", warm: false, secrets: ["db-pass": Data("s3cret".utf8), "blob": Data([0, 255, 10])])
        spec.uid = 10001
        spec.gid = 10001
        try InstanceMounts.prepare(spec: spec, bundle: bundle)
        let directory = bundle + "/secrets"
        let mounts = try String(contentsOfFile: "/proc/self/mountinfo", encoding: .utf8)
        #expect(mounts.contains(" \(directory) ") && mounts.contains("tmpfs"))
        let attributes = try FileManager.default.attributesOfItem(atPath: directory + "/db-pass")
        #expect((attributes[.posixPermissions] as? Int) == 0o400)
        #expect((attributes[.ownerAccountID] as? Int) == 10001)
        #expect(FileManager.default.contents(atPath: directory + "/db-pass") == Data("s3cret".utf8))
        #expect(FileManager.default.contents(atPath: directory + "/blob") == Data([0, 255, 10]))
        let root = try FileManager.default.attributesOfItem(atPath: directory)
        #expect((root[.posixPermissions] as? Int) == 0o500)
        // Hostile names never leave the directory.
        #expect(throws: SwiftletError.self) { try InstanceMounts.write(["../escape": Data()], into: directory, uid: 10001, gid: 10001) }
        #expect(!FileManager.default.fileExists(atPath: bundle + "/escape"))
        // Too much in total is refused with a clear error.
        let big = Data(count: InstanceMounts.maxSecretsBytes)
        #expect(throws: SwiftletError.self) { try InstanceMounts.write(["big": big], into: directory, uid: 10001, gid: 10001) }

        SandboxInstance.removeBundle(bundle)
        let after = try String(contentsOfFile: "/proc/self/mountinfo", encoding: .utf8)
        #expect(!after.contains(" \(directory) "))
        #expect(!FileManager.default.fileExists(atPath: bundle))
    }

    @Test("attaching code to a warm bundle binds it read-only under the shared hub; removal unmounts it and keeps the code")
    func attachAndRemove() throws {
        let bundle = try temporaryDirectory()
        let code = try temporaryDirectory()
        defer {
            SandboxInstance.removeBundle(bundle)
            try? FileManager.default.removeItem(atPath: code)
        }
        try Data("print('hi')\n".utf8).write(to: URL(fileURLWithPath: code + "/handler.py"))
        try InstanceMounts.prepare(spec: spec(id: "warm-1", warm: true, secrets: nil), bundle: bundle)
        let mountinfo = try String(contentsOfFile: "/proc/self/mountinfo", encoding: .utf8)
        let hubLine = try #require(mountinfo.split(separator: "\n").first { $0.contains(" \(bundle)/hub ") })
        #expect(hubLine.contains("shared:"))
        try InstanceMounts.attach(code, slot: "function", bundle: bundle)
        #expect(FileManager.default.fileExists(atPath: bundle + "/hub/function/handler.py"))
        let codeLine = try #require(
            try String(contentsOfFile: "/proc/self/mountinfo", encoding: .utf8).split(separator: "\n").first { $0.contains(" \(bundle)/hub/function ") }
        )
        #expect(codeLine.split(separator: " ")[5].hasPrefix("ro,"))
        #expect(!FileManager.default.isWritableFile(atPath: bundle + "/hub/function/handler.py") || access(bundle + "/hub/function/x", W_OK) != 0)
        #expect(throws: (any Error).self) { try Data().write(to: URL(fileURLWithPath: bundle + "/hub/function/new")) }
        SandboxInstance.removeBundle(bundle)
        #expect(!FileManager.default.fileExists(atPath: bundle))
        // The function's code itself is untouched.
        #expect(FileManager.default.fileExists(atPath: code + "/handler.py"))
        #expect(!(try String(contentsOfFile: "/proc/self/mountinfo", encoding: .utf8)).contains(bundle))
    }

    @Test("cgroup v1 limits: only changed values are written, memory and swap in a safe order")
    func cgroupV1() throws {
        let root = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: root) }
        let path = "/swiftlet/k/f-1"
        let files = [
            "memory\(path)/memory.limit_in_bytes", "memory\(path)/memory.memsw.limit_in_bytes", "memory\(path)/memory.soft_limit_in_bytes",
            "cpu\(path)/cpu.cfs_quota_us", "cpu\(path)/cpu.cfs_period_us", "cpu\(path)/cpu.shares", "pids\(path)/pids.max",
        ]
        for file in files {
            let full = root + "/" + file
            try FileManager.default.createDirectory(atPath: (full as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            try Data().write(to: URL(fileURLWithPath: full))
        }
        var old = CgroupLimits(SandboxSpec(id: "x", args: [], env: [], memoryLimitBytes: 256 << 20, pidsLimit: 256))
        var new = old
        new.memoryLimitBytes = 128 << 20
        new.cpuLimit = 0.5
        new.cpuRequest = 0.25
        try new.apply(to: path, from: old, root: root)
        func read(_ file: String) -> String { String(decoding: FileManager.default.contents(atPath: root + "/" + file) ?? Data(), as: UTF8.self) }
        #expect(read("memory\(path)/memory.limit_in_bytes") == String(128 << 20))
        #expect(read("memory\(path)/memory.memsw.limit_in_bytes") == String(128 << 20))
        #expect(read("cpu\(path)/cpu.cfs_quota_us") == "50000")
        #expect(read("cpu\(path)/cpu.cfs_period_us") == "100000")
        #expect(read("cpu\(path)/cpu.shares") == "256")
        #expect(read("pids\(path)/pids.max") == "")
        #expect(read("memory\(path)/memory.soft_limit_in_bytes") == "")
        // Nothing changes: nothing is written (a missing file would throw).
        old = new
        try FileManager.default.removeItem(atPath: root + "/memory")
        try new.apply(to: path, from: old, root: root)
    }

    @Test("cgroup v2 limits go to the unified files")
    func cgroupV2() throws {
        let root = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: root) }
        let path = "/swiftlet/k/f-1"
        try FileManager.default.createDirectory(atPath: root + path, withIntermediateDirectories: true)
        try Data("cpu memory pids".utf8).write(to: URL(fileURLWithPath: root + "/cgroup.controllers"))
        let old = CgroupLimits(SandboxSpec(id: "x", args: [], env: [], memoryLimitBytes: 256 << 20, pidsLimit: 256))
        var new = old
        new.memoryLimitBytes = 64 << 20
        new.cpuLimit = 2
        new.pidsLimit = 32
        for file in ["memory.max", "cpu.max", "pids.max"] {
            try Data().write(to: URL(fileURLWithPath: root + path + "/" + file))
        }
        try new.apply(to: path, from: old, root: root)
        func read(_ file: String) -> String { String(decoding: FileManager.default.contents(atPath: root + path + "/" + file) ?? Data(), as: UTF8.self) }
        #expect(read("memory.max") == String(64 << 20))
        #expect(read("cpu.max") == "200000 100000")
        #expect(read("pids.max") == "32")
    }
}
