import Foundation
import SwiftletCore

/// The host side of the sandboxes one Swiftlet process runs: the shared read-only rootfs, the
/// minimal `/etc`, the per-instance bundle directories and the runtime's state directory.
///
/// Everything lives under one run directory derived from the data directory, so two Swiftlets
/// with different data directories never touch each other's containers.
public struct SandboxHost: Sendable {
    /// The uid and gid functions run as (no host user owns files the sandbox can see).
    public static let functionUID: UInt32 = 10001
    /// The cgroup parent of every instance of this host.
    public let cgroupParent: String
    /// The run directory (`/run/swiftlet/<key>`).
    public let runDirectory: String
    /// The OCI runtime driver of the standard tier (runc).
    public let runtime: RuncDriver
    /// The OCI runtime driver of the hardened tier (gVisor's runsc).
    public let hardenedRuntime: RuncDriver
    /// The host id blocks of instances with user namespaces.
    public let idRanges: HostIDRanges

    /// The shared, empty rootfs (mount points and merged-usr symlinks only).
    public var rootfs: String { runDirectory + "/rootfs" }
    /// The generated minimal `/etc`.
    public var etc: String { runDirectory + "/etc" }
    /// The per-instance bundle directories.
    public var bundles: String { runDirectory + "/bundles" }

    /// Creates the layout for the data directory `dataDirectory`, using `runtimePath` (runc)
    /// and `hardenedRuntimePath` (runsc).
    public init(
        dataDirectory: String, runtimePath: String = "/usr/bin/runc", hardenedRuntimePath: String = "/usr/bin/runsc",
        runBase: String = "/run/swiftlet"
    ) {
        let key = Self.key(for: URL(fileURLWithPath: dataDirectory).standardizedFileURL.path)
        runDirectory = runBase + "/" + key
        cgroupParent = "/swiftlet/" + key
        runtime = RuncDriver(runtimePath: runtimePath, stateRoot: runDirectory + "/runc")
        hardenedRuntime = .runsc(runtimePath: hardenedRuntimePath, stateRoot: runDirectory + "/runsc")
        idRanges = HostIDRanges(partitionKey: UInt64(key, radix: 16) ?? 0)
    }

    /// The runtime driver of `tier`.
    public func runtime(for tier: IsolationTier) -> RuncDriver {
        tier == .hardened ? hardenedRuntime : runtime
    }

    /// The network namespace file of a hardened instance's bundle.
    public static func namespaceFile(bundle: String) -> String { bundle + "/netns" }

    /// A short stable key for a path (FNV-1a, hex).
    static func key(for path: String) -> String {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in path.utf8 {
            hash ^= UInt64(byte)
            hash = hash &* 0x100_0000_01b3
        }
        return String(hash, radix: 16)
    }

    /// Creates the rootfs, `/etc` and bundle directories. Safe to call again.
    public func prepare() throws {
        let fm = FileManager.default
        do {
            for dir in [runDirectory, rootfs, bundles] {
                try fm.createDirectory(atPath: dir, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o711])
            }
            try fm.createDirectory(atPath: etc, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o755])
            try fm.setAttributes([.posixPermissions: 0o755], ofItemAtPath: etc)
            try fm.setAttributes([.posixPermissions: 0o755], ofItemAtPath: rootfs)
            for dir in ["usr", "etc", "proc", "dev", "sys", "tmp", "home/app/function", "home/app/python", "opt/swiftlet/runner", "var/tmp", "var/openfaas/secrets", "run"] {
                try fm.createDirectory(atPath: rootfs + "/" + dir, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o755])
            }
            // runc keeps the mode of a tmpfs mount point: /tmp must be world-writable and sticky.
            try fm.setAttributes([.posixPermissions: 0o1777], ofItemAtPath: rootfs + "/tmp")
            // Merged /usr on Debian: /bin, /lib… are symlinks into /usr. Mirror the host.
            for top in ["bin", "sbin", "lib", "lib32", "lib64", "libx32"] {
                let hostPath = "/" + top
                let path = rootfs + "/" + top
                guard let target = try? fm.destinationOfSymbolicLink(atPath: hostPath) else {
                    if fm.fileExists(atPath: hostPath) {
                        try? fm.createDirectory(atPath: path, withIntermediateDirectories: true)
                    }
                    continue
                }
                if (try? fm.destinationOfSymbolicLink(atPath: path)) != target {
                    try? fm.removeItem(atPath: path)
                    try fm.createSymbolicLink(atPath: path, withDestinationPath: target)
                }
            }
            try writeEtc()
        } catch let error as SwiftletError {
            throw error
        } catch {
            throw SwiftletError(.internal, "cannot prepare the sandbox directories under \(runDirectory): \(error.localizedDescription); swiftlet must run as root", cause: error)
        }
    }

    /// The top-level host directories that are real directories (not merged-usr symlinks) and
    /// must be bound read-only next to `/usr`.
    public var hostSystemDirectories: [String] {
        ["/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"].filter { path in
            var isDir: ObjCBool = false
            return (try? FileManager.default.destinationOfSymbolicLink(atPath: path)) == nil
                && FileManager.default.fileExists(atPath: path, isDirectory: &isDir) && isDir.boolValue
        }
    }

    private func writeEtc() throws {
        let uid = Self.functionUID
        let files: [String: String] = [
            "passwd": "root:x:0:0:root:/nonexistent:/usr/sbin/nologin\napp:x:\(uid):\(uid):app:/home/app:/usr/sbin/nologin\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n",
            "group": "root:x:0:\napp:x:\(uid):\nnogroup:x:65534:\n",
            "hosts": "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n",
            "hostname": "function\n",
            "nsswitch.conf": "passwd: files\ngroup: files\nhosts: files\n",
            "resolv.conf": "",
        ]
        let fm = FileManager.default
        for (name, content) in files {
            // Written beside and renamed into place: Foundation's `.atomic` leaves a
            // `TemporaryDirectory.*` in /tmp behind on Linux at every write.
            let staging = etc + "/." + name + ".new"
            try Data(content.utf8).write(to: URL(fileURLWithPath: staging))
            try fm.setAttributes([.posixPermissions: 0o644], ofItemAtPath: staging)
            guard rename(staging, etc + "/" + name) == 0 else {
                throw SwiftletError(.internal, "cannot write \(etc)/\(name) (errno \(errno))")
            }
        }
        // Copies of harmless host files the dynamic loader and runtimes read.
        for name in ["ld.so.cache", "ld.so.conf", "localtime", "mime.types"] {
            let source = URL(fileURLWithPath: "/etc/" + name).resolvingSymlinksInPath().path
            let destination = etc + "/" + name
            try? fm.removeItem(atPath: destination)
            if fm.fileExists(atPath: source) { try? fm.copyItem(atPath: source, toPath: destination) }
        }
        // Mount points for read-only binds of host directories with no secrets in them.
        for name in Self.etcDirectoryBinds {
            try fm.createDirectory(atPath: etc + "/" + name, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o755])
        }
    }

    /// Host `/etc` subdirectories bound read-only into every sandbox (certificates and the
    /// alternatives symlinks some `/usr/bin` entries point through).
    package static let etcDirectoryBinds = ["ssl", "ca-certificates", "alternatives", "ld.so.conf.d"]
}
