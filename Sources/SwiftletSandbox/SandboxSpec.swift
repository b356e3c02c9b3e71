import Foundation
import SwiftletCore

/// The root filesystem of a sandbox.
public enum SandboxRoot: Sendable, Equatable {
    /// The shared empty rootfs with the host's `/usr` bound read-only (code functions).
    case hostSystem
    /// An unpacked image at `path`; `writable` gives the instance its own overlay layer,
    /// discarded with it, otherwise the image is mounted read-only.
    case image(path: String, writable: Bool)
}

/// What one sandboxed instance runs and with which limits.
public struct SandboxSpec: Sendable {
    /// The root filesystem.
    public var root: SandboxRoot = .hostSystem
    /// The uid the process runs as.
    public var uid: UInt32 = SandboxHost.functionUID
    /// The gid the process runs as.
    public var gid: UInt32 = SandboxHost.functionUID
    /// The container id (unique within the runtime's state directory).
    public var id: String
    /// The process and its arguments.
    public var args: [String]
    /// The environment, as `KEY=value`.
    public var env: [String]
    /// The working directory inside the sandbox.
    public var cwd: String
    /// Host directories bound read-only: (host path, path inside).
    public var readOnlyBinds: [(source: String, destination: String)]
    /// The memory limit in bytes.
    public var memoryLimitBytes: Int64
    /// The CPU limit in CPUs, or nil for none.
    public var cpuLimit: Double?
    /// The CPU request in CPUs (a relative weight under contention), or nil.
    public var cpuRequest: Double?
    /// The memory request in bytes (a soft limit the kernel reclaims towards), or nil.
    public var memoryRequestBytes: Int64?
    /// The most processes and threads.
    public var pidsLimit: Int64
    /// The size of the writable `/tmp`.
    public var tmpSizeBytes: Int64
    /// The most open files.
    public var maxOpenFiles: UInt64
    /// Secrets, by name, for `/var/openfaas/secrets/<name>` (files 0400 owned by `uid` in a
    /// tmpfs of the instance). Nil mounts no secrets directory.
    public var secrets: [String: Data]?
    /// A warm sandbox: `/home/app/function` and `/home/app/python` stay empty until
    /// ``SandboxInstance/attach(code:python:)`` binds a function's code into the running sandbox,
    /// and a secrets directory is always mounted (filled by ``SandboxInstance/writeSecrets(_:)``).
    public var warm = false
    /// Whether the process gets a ready pipe as its stdin (fd 0) and `SWIFTLET_READY_FD=0`: a
    /// runner writes `ready` there once it listens (see ``SandboxInstance/waitForReadySignal(timeout:)``).
    public var readyPipe = false
    /// The isolation tier: `standard` runs the instance under runc, `hardened` under gVisor's
    /// runsc (in a network namespace created beforehand, see ``SandboxInstance``).
    public var isolation: IsolationTier = .standard
    /// Whether the instance gets a user namespace of its own whose ids map to a block of host ids
    /// no other instance uses (allocated at start from ``SandboxHost/idRanges``).
    public var mapsUsers = false
    /// The host ids the instance's ids map to; set by ``SandboxInstance/start`` when
    /// ``mapsUsers`` is on, nil otherwise.
    public var idMapping: IDMapping?

    /// The host uid of the instance's process (the uid inside, mapped when users are mapped).
    public var hostUID: UInt32 { idMapping?.host(uid) ?? uid }
    /// The host gid of the instance's process.
    public var hostGID: UInt32 { idMapping?.host(gid) ?? gid }

    /// Creates a spec with defaults that suit a small function.
    public init(
        id: String, args: [String], env: [String], cwd: String = "/home/app/function",
        readOnlyBinds: [(source: String, destination: String)] = [], memoryLimitBytes: Int64 = 256 * 1024 * 1024,
        cpuLimit: Double? = nil, cpuRequest: Double? = nil, memoryRequestBytes: Int64? = nil, pidsLimit: Int64 = 256, tmpSizeBytes: Int64 = 64 * 1024 * 1024, maxOpenFiles: UInt64 = 4096
    ) {
        self.id = id
        self.args = args
        self.env = env
        self.cwd = cwd
        self.readOnlyBinds = readOnlyBinds
        self.memoryLimitBytes = memoryLimitBytes
        self.cpuLimit = cpuLimit
        self.cpuRequest = cpuRequest
        self.memoryRequestBytes = memoryRequestBytes
        self.pidsLimit = pidsLimit
        self.tmpSizeBytes = tmpSizeBytes
        self.maxOpenFiles = maxOpenFiles
    }
}
