/// The seccomp filter every function runs under: allow by default, refuse with EPERM what a
/// function never needs and an attacker would (mounts, tracing, BPF, kernel modules, keyrings,
/// namespaces, raw sockets…). `clone3` answers ENOSYS so libc falls back to `clone`, whose
/// namespace flags are then refused.
enum SeccompProfile {
    static let EPERM: UInt32 = 1
    static let ENOSYS: UInt32 = 38

    static let refused = [
        "acct", "add_key", "adjtimex", "bpf", "chroot", "clock_adjtime", "clock_settime", "create_module", "delete_module",
        "finit_module", "fsconfig", "fsmount", "fsopen", "fspick", "get_kernel_syms", "init_module", "io_uring_enter",
        "io_uring_register", "io_uring_setup", "ioperm", "iopl", "kcmp", "kexec_file_load", "kexec_load", "keyctl",
        "lookup_dcookie", "mount", "mount_setattr", "move_mount", "name_to_handle_at", "nfsservctl", "open_by_handle_at",
        "open_tree", "perf_event_open", "pidfd_getfd", "pivot_root", "process_vm_readv", "process_vm_writev", "ptrace",
        "query_module", "quotactl", "quotactl_fd", "reboot", "request_key", "setns", "settimeofday", "swapoff", "swapon",
        "syslog", "umount", "umount2", "unshare", "uselib", "userfaultfd", "ustat", "vhangup", "_sysctl", "sysfs",
    ]

    /// CLONE_NEWNS, NEWCGROUP, NEWUTS, NEWIPC, NEWUSER, NEWPID, NEWNET, NEWTIME.
    static let namespaceFlags: [UInt64] = [0x0002_0000, 0x0200_0000, 0x0400_0000, 0x0800_0000, 0x1000_0000, 0x2000_0000, 0x4000_0000, 0x0000_0080]

    static var profile: OCISpec.Seccomp {
        var rules: [OCISpec.SyscallRule] = [
            OCISpec.SyscallRule(names: refused, action: "SCMP_ACT_ERRNO", errnoRet: EPERM, args: nil),
            OCISpec.SyscallRule(names: ["clone3"], action: "SCMP_ACT_ERRNO", errnoRet: ENOSYS, args: nil),
            // socket(AF_PACKET, …)
            OCISpec.SyscallRule(
                names: ["socket"], action: "SCMP_ACT_ERRNO", errnoRet: EPERM,
                args: [OCISpec.SyscallArg(index: 0, value: 17, valueTwo: nil, op: "SCMP_CMP_EQ")]
            ),
            // socket(…, SOCK_RAW, …)
            OCISpec.SyscallRule(
                names: ["socket"], action: "SCMP_ACT_ERRNO", errnoRet: EPERM,
                args: [OCISpec.SyscallArg(index: 1, value: 0xF, valueTwo: 3, op: "SCMP_CMP_MASKED_EQ")]
            ),
        ]
        for flag in namespaceFlags {
            rules.append(
                OCISpec.SyscallRule(
                    names: ["clone"], action: "SCMP_ACT_ERRNO", errnoRet: EPERM,
                    args: [OCISpec.SyscallArg(index: 0, value: flag, valueTwo: flag, op: "SCMP_CMP_MASKED_EQ")]
                )
            )
        }
        return OCISpec.Seccomp(
            defaultAction: "SCMP_ACT_ALLOW", defaultErrnoRet: nil,
            architectures: ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"], syscalls: rules
        )
    }
}
