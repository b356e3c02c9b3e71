import Foundation
import SwiftletCore
import Testing

@testable import SwiftletSandbox

/// A host whose data and run directories are distinct temporary directories (nothing is created).
private struct Fixture {
    let dataDirectory: String
    let runBase: String
    let host: SandboxHost

    init() {
        let tmp = FileManager.default.temporaryDirectory.path
        let unique = UUID().uuidString
        dataDirectory = tmp + "/swiftlet-data-\(unique)"
        runBase = tmp + "/swiftlet-run-\(unique)"
        host = SandboxHost(dataDirectory: dataDirectory, runBase: runBase)
    }

    var codeDirectory: String { dataDirectory + "/code/abc123" }

    func spec(cpuLimit: Double? = 0.5, cpuRequest: Double? = nil, memoryRequest: Int64? = nil, binds: Bool = true) -> SandboxSpec {
        SandboxSpec(
            id: "hello-1", args: ["/usr/bin/python3", "/opt/swiftlet/runner/index.py"], env: ["PATH=/usr/bin:/bin", "fprocess=python3"],
            readOnlyBinds: binds ? [(codeDirectory, "/home/app/function"), ("/opt/runners/python3", "/opt/swiftlet/runner")] : [],
            memoryLimitBytes: 128 * 1024 * 1024, cpuLimit: cpuLimit, cpuRequest: cpuRequest, memoryRequestBytes: memoryRequest, pidsLimit: 64, tmpSizeBytes: 16 * 1024 * 1024, maxOpenFiles: 1024
        )
    }

    func config(cpuLimit: Double? = 0.5, cpuRequest: Double? = nil, memoryRequest: Int64? = nil, binds: Bool = true) -> OCISpec {
        BundleBuilder(host: host).config(for: spec(cpuLimit: cpuLimit, cpuRequest: cpuRequest, memoryRequest: memoryRequest, binds: binds))
    }
}

@Suite struct BundleBuilderTests {
    @Test func rootIsReadOnlySharedRootfs() {
        let f = Fixture()
        let config = f.config()
        #expect(config.root.readonly)
        #expect(config.root.path == f.host.rootfs)
        #expect(config.root.path.hasPrefix(f.runBase + "/"))
        #expect(config.hostname == "hello-1")
    }

    @Test func processRunsUnprivileged() {
        let config = Fixture().config()
        let process = config.process
        #expect(process.user.uid == 10001)
        #expect(process.user.gid == 10001)
        #expect(process.user.uid != 0)
        #expect(process.user.gid != 0)
        #expect(process.user.additionalGids?.contains(0) != true)
        #expect(process.noNewPrivileges)
        #expect(!process.terminal)
        #expect(process.args == ["/usr/bin/python3", "/opt/swiftlet/runner/index.py"])
        #expect(process.env == ["PATH=/usr/bin:/bin", "fprocess=python3"])
        #expect(process.cwd == "/home/app/function")
        #expect((process.oomScoreAdj ?? 0) >= 0)
        let nofile = process.rlimits.first { $0.type == "RLIMIT_NOFILE" }
        #expect(nofile?.hard == 1024)
        #expect(nofile?.soft == 1024)
    }

    @Test func allCapabilitySetsAreEmpty() {
        let caps = Fixture().config().process.capabilities
        #expect(caps.bounding.isEmpty)
        #expect(caps.effective.isEmpty)
        #expect(caps.inheritable.isEmpty)
        #expect(caps.permitted.isEmpty)
        #expect(caps.ambient.isEmpty)
    }

    @Test func newNamespacesWithoutPaths() {
        let linux = Fixture().config().linux
        let types = linux.namespaces.map(\.type)
        #expect(Set(types).isSuperset(of: ["pid", "ipc", "uts", "mount", "network"]))
        #expect(Set(types).count == types.count, "a namespace is listed twice: \(types)")
        // Without a path each one is new: nothing is shared with the host.
        #expect(linux.namespaces.allSatisfy { $0.path == nil })
    }

    @Test func maskedAndReadOnlyProcPaths() {
        let linux = Fixture().config().linux
        for path in ["/proc/kcore", "/proc/keys", "/proc/timer_list", "/proc/sched_debug", "/sys/firmware", "/proc/acpi"] {
            #expect(linux.maskedPaths.contains(path), "\(path)")
        }
        for path in ["/proc/sys", "/proc/sysrq-trigger", "/proc/irq", "/proc/bus", "/proc/fs"] {
            #expect(linux.readonlyPaths.contains(path), "\(path)")
        }
    }

    @Test(arguments: [
        "mount", "umount2", "ptrace", "bpf", "kexec_load", "kexec_file_load", "init_module", "finit_module", "delete_module",
        "keyctl", "add_key", "request_key", "perf_event_open", "unshare", "setns", "pivot_root", "chroot", "open_by_handle_at",
        "userfaultfd", "reboot", "swapon", "process_vm_writev", "process_vm_readv", "fsopen", "move_mount", "open_tree",
        "mount_setattr", "settimeofday", "syslog", "io_uring_setup",
    ])
    func seccompBlocksDangerousSyscall(_ name: String) throws {
        let seccomp = try #require(Fixture().config().linux.seccomp)
        let action = seccomp.action(for: name)
        #expect(action.action == "SCMP_ACT_ERRNO", "\(name) is \(action.action)")
        #expect(action.errno != 0, "\(name) must fail with an errno")
        #expect(seccomp.allowRules(for: name).isEmpty, "\(name) has an allow rule")
    }

    @Test(arguments: [
        "read", "write", "openat", "close", "mmap", "munmap", "mprotect", "brk", "futex", "execve", "exit_group", "rt_sigaction",
        "epoll_wait", "epoll_pwait", "accept4", "bind", "listen", "connect", "getrandom", "clock_gettime", "newfstatat", "wait4",
    ])
    func seccompAllowsWhatRuntimesNeed(_ name: String) throws {
        let seccomp = try #require(Fixture().config().linux.seccomp)
        #expect(seccomp.action(for: name).action == "SCMP_ACT_ALLOW", "\(name)")
    }

    @Test func seccompCoversTheHostArchitecture() throws {
        let seccomp = try #require(Fixture().config().linux.seccomp)
        #if arch(x86_64)
            // Only the native ABI: 32-bit and x32 system calls match nothing and kill the process.
            #expect(seccomp.architectures == ["SCMP_ARCH_X86_64"])
        #elseif arch(arm64)
            #expect(seccomp.architectures.contains("SCMP_ARCH_AARCH64"))
        #endif
        #expect(!seccomp.syscalls.isEmpty)
        #expect(seccomp.syscalls.allSatisfy { !$0.names.isEmpty })
    }

    @Test func seccompRefusesCloneWithNamespaceFlags() throws {
        let seccomp = try #require(Fixture().config().linux.seccomp)
        // There are clone rules that look at the CLONE_NEWUSER bit of the flags.
        let cloneRules = seccomp.syscalls.filter { $0.names.contains("clone") }
        #expect(cloneRules.contains { $0.args?.contains { $0.index == 0 && $0.op == "SCMP_CMP_MASKED_EQ" && $0.value & 0x1000_0000 != 0 } == true })

        let sigchld: UInt64 = 17
        let fork: UInt64 = 0x0120_0000 | sigchld  // CLONE_CHILD_SETTID | CLONE_CHILD_CLEARTID | SIGCHLD
        let thread: UInt64 = 0x003D_0F00  // what pthread_create passes
        #expect(seccomp.action(for: "clone", args: [fork]).action == "SCMP_ACT_ALLOW")
        #expect(seccomp.action(for: "clone", args: [thread]).action == "SCMP_ACT_ALLOW")
        let namespaceFlags: [(String, UInt64)] = [
            ("CLONE_NEWUSER", 0x1000_0000), ("CLONE_NEWNS", 0x0002_0000), ("CLONE_NEWPID", 0x2000_0000), ("CLONE_NEWNET", 0x4000_0000),
            ("CLONE_NEWIPC", 0x0800_0000), ("CLONE_NEWUTS", 0x0400_0000), ("CLONE_NEWCGROUP", 0x0200_0000),
        ]
        for (name, flag) in namespaceFlags {
            for base in [sigchld, fork, thread] {
                let action = seccomp.action(for: "clone", args: [base | flag])
                #expect(action.action == "SCMP_ACT_ERRNO", "clone with \(name) is \(action.action)")
            }
        }
        #expect(seccomp.action(for: "clone", args: [0x7E02_0000 | sigchld]).action == "SCMP_ACT_ERRNO")
        // clone3 cannot be filtered by flags: it must fail with ENOSYS so libc falls back to clone.
        let clone3 = seccomp.action(for: "clone3")
        #expect(clone3.action == "SCMP_ACT_ERRNO")
        #expect(clone3.errno == 38)
    }

    @Test func seccompRefusesRawAndPacketSockets() throws {
        let seccomp = try #require(Fixture().config().linux.seccomp)
        let cloexec: UInt64 = 0o2000000
        let nonblock: UInt64 = 0o4000
        // AF_PACKET, and SOCK_RAW over IPv4/IPv6 (with or without flags), are refused.
        #expect(seccomp.action(for: "socket", args: [17, 3, 0x300]).action == "SCMP_ACT_ERRNO")
        #expect(seccomp.action(for: "socket", args: [17, 2, 0]).action == "SCMP_ACT_ERRNO")
        #expect(seccomp.action(for: "socket", args: [2, 3, 1]).action == "SCMP_ACT_ERRNO")
        #expect(seccomp.action(for: "socket", args: [10, 3 | cloexec, 58]).action == "SCMP_ACT_ERRNO")
        // TCP and UDP over IPv4/IPv6, and Unix sockets, work.
        #expect(seccomp.action(for: "socket", args: [2, 1, 0]).action == "SCMP_ACT_ALLOW")
        #expect(seccomp.action(for: "socket", args: [10, 1 | cloexec | nonblock, 6]).action == "SCMP_ACT_ALLOW")
        #expect(seccomp.action(for: "socket", args: [2, 2 | cloexec, 17]).action == "SCMP_ACT_ALLOW")
        #expect(seccomp.action(for: "socket", args: [1, 1 | cloexec, 0]).action == "SCMP_ACT_ALLOW")
    }

    @Test func tmpIsASizedTmpfs() throws {
        let mounts = Fixture().config().mounts
        let tmp = try #require(mounts.first { $0.destination == "/tmp" })
        #expect(tmp.type == "tmpfs")
        #expect(tmp.options.contains("size=\(16 * 1024 * 1024)"))
        #expect(tmp.options.contains("nosuid"))
        #expect(tmp.options.contains("nodev"))
        #expect(mounts.filter { $0.destination == "/tmp" }.count == 1)
    }

    @Test func everyBindMountIsReadOnly() {
        let mounts = Fixture().config().mounts
        let binds = mounts.filter { $0.type == "bind" || $0.options.contains("bind") || $0.options.contains("rbind") }
        #expect(!binds.isEmpty)
        for mount in binds {
            #expect(mount.options.contains("ro"), "\(mount.source) -> \(mount.destination) is writable")
            #expect(!mount.options.contains("rw"), "\(mount.source)")
            #expect(mount.options.contains("nosuid"), "\(mount.source)")
            #expect(mount.options.contains("nodev"), "\(mount.source)")
        }
        #expect(binds.contains { $0.destination == "/usr" && $0.source == "/usr" })
    }

    @Test func etcIsTheGeneratedOneNotTheHosts() throws {
        let f = Fixture()
        let etc = try #require(f.config().mounts.first { $0.destination == "/etc" })
        #expect(etc.source == f.host.etc)
        #expect(etc.source != "/etc")
        #expect(etc.options.contains("ro"))
    }

    @Test func specBindsAreMountedReadOnly() throws {
        let f = Fixture()
        let mounts = f.config().mounts
        let code = try #require(mounts.first { $0.destination == "/home/app/function" })
        #expect(code.source == f.codeDirectory)
        #expect(code.type == "bind")
        #expect(code.options.contains("ro"))
        let runner = try #require(mounts.first { $0.destination == "/opt/swiftlet/runner" })
        #expect(runner.options.contains("ro"))
    }

    @Test func noSensitiveHostDirectoryIsMounted() {
        let f = Fixture()
        for binds in [true, false] {
            let mounts = f.config(binds: binds).mounts
            for mount in mounts {
                let source = mount.source
                let exact = ["/", "/root", "/home", "/var/lib", "/var/run", "/run", "/etc", "/boot", "/proc", "/sys", "/dev", f.dataDirectory]
                #expect(!exact.contains(source), "\(source) is mounted at \(mount.destination)")
                for forbidden in ["/root/", "/home/", "/var/lib/", "/boot/", "/proc/", "/sys/", "/dev/"] {
                    #expect(!source.hasPrefix(forbidden), "\(source) is mounted at \(mount.destination)")
                }
                // Only the function's own code directory may come from the data directory.
                if source.hasPrefix(f.dataDirectory + "/") {
                    #expect(binds && source == f.codeDirectory, "\(source) is mounted")
                }
                // Host /etc subdirectories are limited to the harmless ones.
                if source.hasPrefix("/etc/") {
                    #expect(SandboxHost.etcDirectoryBinds.contains(String(source.dropFirst(5))), "\(source)")
                }
            }
        }
    }

    @Test func specialFilesystemsAreNotExecutableOrSetuid() {
        let mounts = Fixture().config().mounts
        for destination in ["/proc", "/dev/shm", "/dev/mqueue", "/sys"] {
            let mount = mounts.first { $0.destination == destination }
            #expect(mount?.options.contains("nosuid") == true, "\(destination)")
            #expect(mount?.options.contains("noexec") == true, "\(destination)")
        }
        #expect(mounts.first { $0.destination == "/sys" }?.options.contains("ro") == true)
    }

    @Test func memoryPidsAndDeviceLimits() throws {
        let resources = Fixture().config().linux.resources
        let memory = try #require(resources.memory)
        #expect(memory.limit == 128 * 1024 * 1024)
        #expect(memory.swap == memory.limit, "swap equal to the limit means no extra swap")
        #expect(resources.pids?.limit == 64)
        #expect(resources.devices.count == 1)
        #expect(resources.devices.first?.allow == false)
        #expect(resources.devices.first?.access == "rwm")
    }

    @Test(arguments: [0.5, 1.0, 2.0, 0.01, 0.333])
    func cpuQuotaIsCPUsTimesPeriod(_ cpus: Double) throws {
        let cpu = try #require(Fixture().config(cpuLimit: cpus).linux.resources.cpu)
        let period = try #require(cpu.period)
        #expect(period == 100_000)
        #expect(cpu.quota == Int64((cpus * Double(period)).rounded()))
    }

    @Test func noCPULimitMeansNoQuota() {
        #expect(Fixture().config(cpuLimit: nil).linux.resources.cpu == nil)
        #expect(Fixture().config(cpuLimit: nil, cpuRequest: 0.5).linux.resources.cpu?.quota == nil)
    }

    @Test func cpuRequestBecomesShares() {
        #expect(Fixture().config(cpuRequest: 1).linux.resources.cpu?.shares == 1024)
        #expect(Fixture().config(cpuRequest: 0.25).linux.resources.cpu?.shares == 256)
        #expect(Fixture().config(cpuRequest: 0.001).linux.resources.cpu?.shares == 2)
        #expect(Fixture().config().linux.resources.cpu?.shares == nil)
    }

    @Test func memoryRequestIsAReservationCappedByTheLimit() {
        #expect(Fixture().config().linux.resources.memory?.reservation == nil)
        #expect(Fixture().config(memoryRequest: 64 * 1024 * 1024).linux.resources.memory?.reservation == Int64(64 * 1024 * 1024))
        #expect(Fixture().config(memoryRequest: 1 << 40).linux.resources.memory?.reservation == Int64(128 * 1024 * 1024))
    }

    @Test func cgroupPathIsUnderTheHostParent() throws {
        let f = Fixture()
        let path = try #require(f.config().linux.cgroupsPath)
        #expect(path == f.host.cgroupParent + "/hello-1")
        #expect(path.hasPrefix("/swiftlet/"))
    }

    @Test func differentDataDirectoriesGetDifferentRunDirectories() {
        let a = SandboxHost(dataDirectory: "/var/lib/swiftlet-a", runBase: "/run/x")
        let b = SandboxHost(dataDirectory: "/var/lib/swiftlet-b", runBase: "/run/x")
        let a2 = SandboxHost(dataDirectory: "/var/lib/./swiftlet-a/", runBase: "/run/x")
        #expect(a.runDirectory != b.runDirectory)
        #expect(a.cgroupParent != b.cgroupParent)
        #expect(a.runDirectory == a2.runDirectory)
        #expect(a.runDirectory.hasPrefix("/run/x/"))
    }

    @Test func encodedConfigIsValidJSONWithOCIVersion() throws {
        let config = Fixture().config()
        let data = try JSONEncoder().encode(config)
        let object = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        #expect(object["ociVersion"] as? String == "1.0.2")
        let process = try #require(object["process"] as? [String: Any])
        #expect(process["noNewPrivileges"] as? Bool == true)
        let user = try #require(process["user"] as? [String: Any])
        #expect(user["uid"] as? Int == 10001)
        let root = try #require(object["root"] as? [String: Any])
        #expect(root["readonly"] as? Bool == true)
        let linux = try #require(object["linux"] as? [String: Any])
        let seccomp = try #require(linux["seccomp"] as? [String: Any])
        #expect(seccomp["defaultAction"] as? String == config.linux.seccomp?.defaultAction)
        #expect((seccomp["syscalls"] as? [Any])?.isEmpty == false)
        #expect((object["mounts"] as? [Any])?.count == config.mounts.count)
        // Round trip.
        let decoded = try JSONDecoder().decode(OCISpec.self, from: data)
        #expect(decoded.mounts.map(\.destination) == config.mounts.map(\.destination))
        #expect(decoded.process.user.uid == 10001)
    }

    @Test func writeBundleWritesConfigJSON() throws {
        try withTemporaryDirectory { tmp in
            let host = SandboxHost(dataDirectory: tmp + "/data", runBase: tmp + "/run")
            let f = Fixture()
            let directory = try BundleBuilder(host: host).writeBundle(for: f.spec())
            #expect(directory == host.bundles + "/hello-1")
            #expect(try permissions(directory) == 0o700)
            let data = try #require(FileManager.default.contents(atPath: directory + "/config.json"))
            let object = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
            #expect(object["ociVersion"] as? String == "1.0.2")
            #expect(!String(decoding: data, as: UTF8.self).contains("\\/"))
        }
    }
}

extension OCISpec.Seccomp {
    /// Which rules apply to `name` called with `args`: every condition of a rule must hold.
    func matchingRules(for name: String, args: [UInt64]) -> [OCISpec.SyscallRule] {
        syscalls.filter { rule in
            rule.names.contains(name)
                && (rule.args ?? []).allSatisfy { condition in
                    let value = Int(condition.index) < args.count ? args[Int(condition.index)] : 0
                    switch condition.op {
                    case "SCMP_CMP_EQ": return value == condition.value
                    case "SCMP_CMP_NE": return value != condition.value
                    case "SCMP_CMP_MASKED_EQ": return value & condition.value == (condition.valueTwo ?? 0)
                    case "SCMP_CMP_LT": return value < condition.value
                    case "SCMP_CMP_LE": return value <= condition.value
                    case "SCMP_CMP_GT": return value > condition.value
                    case "SCMP_CMP_GE": return value >= condition.value
                    default:
                        Issue.record("unknown seccomp operator \(condition.op)")
                        return false
                    }
                }
        }
    }

    /// What the filter does for `name(args…)`, as libseccomp resolves overlaps: a matching refusal
    /// wins over a matching allow; with no matching rule, the default action applies.
    func action(for name: String, args: [UInt64] = []) -> (action: String, errno: UInt32) {
        let rules = matchingRules(for: name, args: args)
        if let refusal = rules.first(where: { $0.action != "SCMP_ACT_ALLOW" }) {
            return (refusal.action, refusal.errnoRet ?? 1)
        }
        if !rules.isEmpty { return ("SCMP_ACT_ALLOW", 0) }
        return (defaultAction, defaultAction == "SCMP_ACT_ALLOW" ? 0 : (defaultErrnoRet ?? 1))
    }

    /// The rules that allow `name` under some condition.
    func allowRules(for name: String) -> [OCISpec.SyscallRule] {
        syscalls.filter { $0.names.contains(name) && $0.action == "SCMP_ACT_ALLOW" }
    }
}
