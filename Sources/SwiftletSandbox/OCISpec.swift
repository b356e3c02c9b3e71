import Foundation

/// The subset of the OCI runtime specification (config.json) Swiftlet writes.
public struct OCISpec: Codable, Sendable {
    public var ociVersion = "1.0.2"
    public var process: Process
    public var root: Root
    public var hostname: String
    public var mounts: [Mount]
    public var linux: Linux

    /// The container's process.
    public struct Process: Codable, Sendable {
        public var terminal = false
        public var user: User
        public var args: [String]
        public var env: [String]
        public var cwd: String
        public var capabilities: Capabilities
        public var rlimits: [Rlimit]
        public var noNewPrivileges = true
        public var oomScoreAdj: Int?
    }

    /// The uid/gid of the process.
    public struct User: Codable, Sendable {
        public var uid: UInt32
        public var gid: UInt32
        public var additionalGids: [UInt32]?
    }

    /// Capability sets (all empty for functions).
    public struct Capabilities: Codable, Sendable {
        public var bounding: [String] = []
        public var effective: [String] = []
        public var inheritable: [String] = []
        public var permitted: [String] = []
        public var ambient: [String] = []
        /// No capabilities at all.
        public static let none = Capabilities()
    }

    /// A resource limit.
    public struct Rlimit: Codable, Sendable {
        public var type: String
        public var hard: UInt64
        public var soft: UInt64
    }

    /// The root filesystem.
    public struct Root: Codable, Sendable {
        public var path: String
        public var readonly: Bool
    }

    /// A mount.
    public struct Mount: Codable, Sendable {
        public var destination: String
        public var type: String
        public var source: String
        public var options: [String]

        /// A read-only bind mount of a host path; `noexec` when the source's mount has it (a bind
        /// into a user namespace must keep its source's flags, which are locked there).
        /// `noexec` forces the flag (for a source mounted only later, like a secrets tmpfs).
        public static func readOnlyBind(_ source: String, at destination: String, noexec: Bool = false) -> Mount {
            var options = ["rbind", "ro", "nosuid", "nodev"]
            var info = statvfs()
            if noexec || (statvfs(source, &info) == 0 && info.f_flag & 8 != 0 /* ST_NOEXEC */) { options.append("noexec") }
            return Mount(destination: destination, type: "bind", source: source, options: options)
        }
    }

    /// Linux-specific settings.
    public struct Linux: Codable, Sendable {
        public var namespaces: [Namespace]
        public var resources: Resources
        public var cgroupsPath: String?
        public var maskedPaths: [String]
        public var readonlyPaths: [String]
        public var seccomp: Seccomp?
        /// uid mappings of a user namespace (nil without one).
        public var uidMappings: [IDMap]?
        /// gid mappings of a user namespace (nil without one).
        public var gidMappings: [IDMap]?
    }

    /// One id mapping of a user namespace.
    public struct IDMap: Codable, Sendable {
        public var containerID: UInt32
        public var hostID: UInt32
        public var size: UInt32
    }

    /// A namespace; without a path a new one is created.
    public struct Namespace: Codable, Sendable {
        public var type: String
        public var path: String?
    }

    /// cgroup limits.
    public struct Resources: Codable, Sendable {
        public var devices: [DeviceRule]
        public var memory: Memory?
        public var cpu: CPU?
        public var pids: Pids?
    }

    /// A device cgroup rule.
    public struct DeviceRule: Codable, Sendable {
        public var allow: Bool
        public var access: String
    }

    /// Memory limits in bytes.
    public struct Memory: Codable, Sendable {
        public var limit: Int64
        public var swap: Int64
        public var reservation: Int64?
    }

    /// CPU bandwidth.
    public struct CPU: Codable, Sendable {
        public var quota: Int64?
        public var period: UInt64?
        public var shares: UInt64?
    }

    /// A pids limit.
    public struct Pids: Codable, Sendable {
        public var limit: Int64
    }

    /// A seccomp filter.
    public struct Seccomp: Codable, Sendable {
        public var defaultAction: String
        public var defaultErrnoRet: UInt32?
        public var architectures: [String]
        public var syscalls: [SyscallRule]
    }

    /// A seccomp rule for some syscalls.
    public struct SyscallRule: Codable, Sendable {
        public var names: [String]
        public var action: String
        public var errnoRet: UInt32?
        public var args: [SyscallArg]?
    }

    /// A seccomp argument condition.
    public struct SyscallArg: Codable, Sendable {
        public var index: UInt32
        public var value: UInt64
        public var valueTwo: UInt64?
        public var op: String
    }
}
