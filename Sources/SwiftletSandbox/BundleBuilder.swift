import Foundation

/// Builds the OCI runtime config of one instance: read-only rootfs of host binds, no
/// capabilities, no new privileges, seccomp, Docker's masked and read-only `/proc` paths,
/// cgroup limits, and new pid, ipc, uts, mount, network and cgroup namespaces (plus a user
/// namespace when the spec maps users; a hardened instance joins a network namespace made
/// beforehand).
public struct BundleBuilder: Sendable {
    /// The host layout.
    public let host: SandboxHost

    /// Creates a builder for `host`.
    public init(host: SandboxHost) {
        self.host = host
    }

    /// The config for `spec`.
    public func config(for spec: SandboxSpec) -> OCISpec {
        var mounts: [OCISpec.Mount] = [
            OCISpec.Mount(destination: "/proc", type: "proc", source: "proc", options: ["nosuid", "noexec", "nodev"]),
            OCISpec.Mount(destination: "/dev", type: "tmpfs", source: "tmpfs", options: ["nosuid", "strictatime", "mode=755", "size=65536k"]),
            OCISpec.Mount(
                destination: "/dev/pts", type: "devpts", source: "devpts",
                options: ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620"]
            ),
            OCISpec.Mount(destination: "/dev/shm", type: "tmpfs", source: "shm", options: ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"]),
            OCISpec.Mount(destination: "/dev/mqueue", type: "mqueue", source: "mqueue", options: ["nosuid", "noexec", "nodev"]),
            OCISpec.Mount(destination: "/sys", type: "sysfs", source: "sysfs", options: ["nosuid", "noexec", "nodev", "ro"]),
            OCISpec.Mount(
                destination: "/tmp", type: "tmpfs", source: "tmpfs",
                options: ["nosuid", "nodev", "mode=1777", "size=\(spec.tmpSizeBytes)"]
            ),
        ]
        let rootPath: String
        let rootReadOnly: Bool
        switch spec.root {
        case .hostSystem:
            rootPath = host.rootfs
            rootReadOnly = true
            mounts.append(.readOnlyBind("/usr", at: "/usr"))
            mounts += host.hostSystemDirectories.map { .readOnlyBind($0, at: $0) }
            mounts.append(.readOnlyBind(host.etc, at: "/etc"))
            for name in SandboxHost.etcDirectoryBinds where FileManager.default.fileExists(atPath: "/etc/" + name) {
                mounts.append(.readOnlyBind("/etc/" + name, at: "/etc/" + name))
            }
        case .image(let path, let writable):
            // Writable: the overlay; mapped ids: the idmapped view of the image (see IDMappedImage).
            rootPath =
                writable
                ? host.bundles + "/" + spec.id + "/rootfs"
                : spec.idMapping == nil ? path : IDMappedImage.path(bundle: host.bundles + "/" + spec.id)
            rootReadOnly = !writable
            // The image keeps its own /etc; name resolution files come from the platform.
            for name in ["hosts", "hostname", "resolv.conf"] {
                mounts.append(.readOnlyBind(host.etc + "/" + name, at: "/etc/" + name))
            }
        }
        mounts += spec.readOnlyBinds.map { .readOnlyBind($0.source, at: $0.destination) }
        let bundle = host.bundles + "/" + spec.id
        if spec.warm {
            // Empty until a function's code is bound on the host side; `rslave` lets that bind in.
            for slot in ["function", "python"] {
                mounts.append(
                    OCISpec.Mount(
                        destination: "/home/app/" + slot, type: "bind", source: InstanceMounts.hub(bundle: bundle) + "/" + slot,
                        options: ["bind", "ro", "rslave", "nosuid", "nodev"]
                    )
                )
            }
        }
        if spec.secrets != nil || spec.warm {
            mounts.append(.readOnlyBind(InstanceMounts.secretsDirectory(bundle: bundle), at: InstanceMounts.secretsPath, noexec: true))
        }

        var resources = OCISpec.Resources(
            devices: [OCISpec.DeviceRule(allow: false, access: "rwm")],
            memory: OCISpec.Memory(
                limit: spec.memoryLimitBytes, swap: spec.memoryLimitBytes,
                reservation: spec.memoryRequestBytes.map { min($0, spec.memoryLimitBytes) }
            ),
            cpu: nil,
            pids: OCISpec.Pids(limit: Self.hostPidsLimit(spec))
        )
        if spec.cpuLimit != nil || spec.cpuRequest != nil {
            let period: UInt64 = 100_000
            resources.cpu = OCISpec.CPU(
                quota: spec.cpuLimit.map { Int64(($0 * Double(period)).rounded()) },
                period: spec.cpuLimit == nil ? nil : period,
                shares: spec.cpuRequest.map { CgroupLimits.shares($0) }
            )
        }
        var namespaces = ["pid", "ipc", "uts", "mount", "network", "cgroup"].map { OCISpec.Namespace(type: $0, path: nil) }
        if spec.isolation == .hardened {
            // runsc in host-network mode serves on the namespace it joins: one made beforehand
            // holding only `lo`, so the instance's loopback is the data path and nothing else.
            namespaces[4].path = SandboxHost.namespaceFile(bundle: bundle)
        }
        var idMaps: [OCISpec.IDMap]?
        if let mapping = spec.idMapping {
            namespaces.append(OCISpec.Namespace(type: "user", path: nil))
            idMaps = [OCISpec.IDMap(containerID: 0, hostID: mapping.hostID, size: mapping.size)]
        }
        return OCISpec(
            process: OCISpec.Process(
                user: OCISpec.User(uid: spec.uid, gid: spec.gid, additionalGids: nil),
                args: spec.args,
                env: spec.env,
                cwd: spec.cwd,
                capabilities: .none,
                rlimits: [OCISpec.Rlimit(type: "RLIMIT_NOFILE", hard: spec.maxOpenFiles, soft: spec.maxOpenFiles)],
                oomScoreAdj: 500
            ),
            root: OCISpec.Root(path: rootPath, readonly: rootReadOnly),
            hostname: spec.id,
            mounts: mounts,
            linux: OCISpec.Linux(
                namespaces: namespaces,
                resources: resources,
                cgroupsPath: host.cgroupParent + "/" + spec.id,
                maskedPaths: [
                    "/proc/asound", "/proc/acpi", "/proc/kcore", "/proc/keys", "/proc/latency_stats", "/proc/timer_list",
                    "/proc/timer_stats", "/proc/sched_debug", "/proc/scsi", "/sys/firmware", "/sys/devices/virtual/powercap",
                ],
                readonlyPaths: ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"],
                seccomp: SeccompProfile.profile(for: spec.isolation),
                uidMappings: idMaps,
                gidMappings: idMaps
            )
        )
    }

    /// The pids limit of the instance's cgroup. Under gVisor's ptrace platform every process
    /// inside has a host stub process and every task host threads of the Sentry, so the same
    /// cgroup limit would crash the sandbox at a few dozen processes; it gets room for the
    /// function's `pidsLimit` tasks with their host threads.
    static func hostPidsLimit(_ spec: SandboxSpec) -> Int64 {
        spec.isolation == .hardened ? spec.pidsLimit * 4 + 128 : spec.pidsLimit
    }

    /// Writes `config.json` for `spec` into a new bundle directory and returns its path.
    public func writeBundle(for spec: SandboxSpec) throws -> String {
        let directory = host.bundles + "/" + spec.id
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        try encoder.encode(config(for: spec)).write(to: URL(fileURLWithPath: directory + "/config.json"))
        return directory
    }
}
