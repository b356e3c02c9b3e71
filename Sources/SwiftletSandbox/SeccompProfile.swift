import SwiftletCore

/// The seccomp filter every function runs under: Docker's default allowlist, narrowed.
///
/// Anything not listed fails with EPERM. Refused explicitly (so the intent is written down):
/// mounts, tracing and cross-process memory access, BPF, kexec and kernel modules, keyrings,
/// perf, namespaces (`unshare`, `setns`, `clone` with any `CLONE_NEW*` flag), device nodes,
/// clock and host name changes, swap, reboot. `clone3` and io_uring answer ENOSYS so libc and
/// runtimes fall back to what is filtered. Sockets: Unix, TCP and UDP over IPv4/IPv6, and
/// NETLINK_ROUTE (name resolution reads interfaces) only; raw and packet sockets are refused.
/// Checked on this kind of host with python3 and node (fork, threads, subprocess, child_process).
enum SeccompProfile {
    static let EPERM: UInt32 = 1
    static let ENOSYS: UInt32 = 38

    /// Allowed unconditionally.
    static let allowed = [
        "_llseek", "_newselect", "accept", "accept4", "access", "adjtimex", "alarm", "arch_prctl", "bind", "brk",
        "capget", "capset", "chdir", "chmod", "chown", "chown32", "clock_getres", "clock_getres_time64",
        "clock_gettime", "clock_gettime64", "clock_nanosleep", "clock_nanosleep_time64", "close", "close_range",
        "connect", "copy_file_range", "creat", "dup", "dup2", "dup3", "epoll_create", "epoll_create1", "epoll_ctl",
        "epoll_ctl_old", "epoll_pwait", "epoll_pwait2", "epoll_wait", "epoll_wait_old", "eventfd", "eventfd2",
        "execve", "execveat", "exit", "exit_group", "faccessat", "faccessat2", "fadvise64", "fadvise64_64",
        "fallocate", "fchdir", "fchmod", "fchmodat", "fchown", "fchown32", "fchownat", "fcntl", "fcntl64", "fdatasync",
        "fgetxattr", "flistxattr", "flock", "fork", "fremovexattr", "fsetxattr", "fstat", "fstat64", "fstatat64",
        "fstatfs", "fstatfs64", "fsync", "ftruncate", "ftruncate64", "futex", "futex_time64", "futex_waitv",
        "futimesat", "get_robust_list", "get_thread_area", "getcpu", "getcwd", "getdents", "getdents64", "getegid",
        "getegid32", "geteuid", "geteuid32", "getgid", "getgid32", "getgroups", "getgroups32", "getitimer",
        "getpeername", "getpgid", "getpgrp", "getpid", "getppid", "getpriority", "getrandom", "getresgid",
        "getresgid32", "getresuid", "getresuid32", "getrlimit", "getrusage", "getsid", "getsockname", "getsockopt",
        "gettid", "gettimeofday", "getuid", "getuid32", "getxattr", "inotify_add_watch", "inotify_init",
        "inotify_init1", "inotify_rm_watch", "io_cancel", "io_destroy", "io_getevents", "io_pgetevents",
        "io_pgetevents_time64", "io_setup", "io_submit", "ioctl", "ioprio_get", "ioprio_set", "kill", "lchown",
        "lchown32", "lgetxattr", "link", "linkat", "listen", "listxattr", "llistxattr", "lremovexattr", "lseek",
        "lsetxattr", "lstat", "lstat64", "madvise", "membarrier", "memfd_create", "mincore", "mkdir", "mkdirat",
        "mlock", "mlock2", "mlockall", "mmap", "mmap2", "modify_ldt", "mprotect", "mq_getsetattr", "mq_notify",
        "mq_open", "mq_timedreceive", "mq_timedreceive_time64", "mq_timedsend", "mq_timedsend_time64", "mq_unlink",
        "mremap", "msgctl", "msgget", "msgrcv", "msgsnd", "msync", "munlock", "munlockall", "munmap", "nanosleep",
        "newfstatat", "open", "openat", "openat2", "pause", "pidfd_open", "pidfd_send_signal", "pipe", "pipe2", "poll",
        "ppoll", "ppoll_time64", "prctl", "pread64", "preadv", "preadv2", "prlimit64", "pselect6", "pselect6_time64",
        "pwrite64", "pwritev", "pwritev2", "read", "readahead", "readlink", "readlinkat", "readv", "recv", "recvfrom",
        "recvmmsg", "recvmmsg_time64", "recvmsg", "remap_file_pages", "removexattr", "rename", "renameat", "renameat2",
        "restart_syscall", "rmdir", "rseq", "rt_sigaction", "rt_sigpending", "rt_sigprocmask", "rt_sigqueueinfo",
        "rt_sigreturn", "rt_sigsuspend", "rt_sigtimedwait", "rt_sigtimedwait_time64", "rt_tgsigqueueinfo",
        "sched_get_priority_max", "sched_get_priority_min", "sched_getaffinity", "sched_getattr", "sched_getparam",
        "sched_getscheduler", "sched_rr_get_interval", "sched_rr_get_interval_time64", "sched_setaffinity",
        "sched_setattr", "sched_setparam", "sched_setscheduler", "sched_yield", "seccomp", "select", "semctl",
        "semget", "semop", "semtimedop", "semtimedop_time64", "send", "sendfile", "sendfile64", "sendmmsg", "sendmsg",
        "sendto", "set_robust_list", "set_thread_area", "set_tid_address", "setfsgid", "setfsgid32", "setfsuid",
        "setfsuid32", "setgid", "setgid32", "setgroups", "setgroups32", "setitimer", "setpgid", "setpriority",
        "setregid", "setregid32", "setresgid", "setresgid32", "setresuid", "setresuid32", "setreuid", "setreuid32",
        "setrlimit", "setsid", "setsockopt", "setuid", "setuid32", "setxattr", "shmat", "shmctl", "shmdt", "shmget",
        "shutdown", "sigaltstack", "signalfd", "signalfd4", "sigprocmask", "sigreturn", "socketpair", "splice", "stat",
        "stat64", "statfs", "statfs64", "statx", "symlink", "symlinkat", "sync", "sync_file_range", "syncfs",
        "sysinfo", "tee", "tgkill", "time", "timer_create", "timer_delete", "timer_getoverrun", "timer_gettime",
        "timer_gettime64", "timer_settime", "timer_settime64", "timerfd_create", "timerfd_gettime",
        "timerfd_gettime64", "timerfd_settime", "timerfd_settime64", "times", "tkill", "truncate", "truncate64",
        "ugetrlimit", "umask", "uname", "unlink", "unlinkat", "utime", "utimensat", "utimensat_time64", "utimes",
        "vfork", "vmsplice", "wait4", "waitid", "waitpid", "write", "writev",
    ]

    /// Refused with EPERM (listed although the default refuses them, to state the intent).
    static let refused = [
        "acct", "add_key", "bpf", "chroot", "clock_adjtime", "clock_adjtime64", "clock_settime", "clock_settime64",
        "delete_module", "fanotify_init", "finit_module", "fsconfig", "fsmount", "fsopen", "fspick", "init_module",
        "ioperm", "iopl", "kcmp", "kexec_file_load", "kexec_load", "keyctl", "lookup_dcookie", "mknod", "mknodat",
        "mount", "mount_setattr", "move_mount", "name_to_handle_at", "open_by_handle_at", "open_tree",
        "perf_event_open", "pidfd_getfd", "pivot_root", "process_madvise", "process_vm_readv", "process_vm_writev",
        "ptrace", "quotactl", "quotactl_fd", "reboot", "request_key", "setdomainname", "sethostname", "setns",
        "settimeofday", "stime", "swapoff", "swapon", "syslog", "umount", "umount2", "unshare", "userfaultfd",
        "vhangup",
    ]

    /// CLONE_NEWNS | NEWCGROUP | NEWUTS | NEWIPC | NEWUSER | NEWPID | NEWNET (Docker's mask).
    static let namespaceFlagsMask: UInt64 = 0x7E02_0000

    /// The filter of the standard tier.
    static var profile: OCISpec.Seccomp { profile(for: .standard) }

    /// The filter of `tier`. Under gVisor (runsc with `--oci-seccomp`) the same filter applies
    /// to the function's calls into gVisor's kernel, except `clone3`: Debian's runsc ignores
    /// `errnoRet`, so refusing it would answer EPERM, on which glibc does not fall back to
    /// `clone` (threads would fail); allowed, gVisor itself answers ENOSYS.
    static func profile(for tier: IsolationTier) -> OCISpec.Seccomp {
        let answeredENOSYS = ["io_uring_setup", "io_uring_enter", "io_uring_register"] + (tier == .hardened ? [] : ["clone3"])
        var rules: [OCISpec.SyscallRule] = [
            OCISpec.SyscallRule(names: allowed + (tier == .hardened ? ["clone3"] : []), action: "SCMP_ACT_ALLOW", errnoRet: nil, args: nil),
            // clone without any namespace flag.
            OCISpec.SyscallRule(
                names: ["clone"], action: "SCMP_ACT_ALLOW", errnoRet: nil,
                args: [OCISpec.SyscallArg(index: 0, value: namespaceFlagsMask, valueTwo: 0, op: "SCMP_CMP_MASKED_EQ")]
            ),
            OCISpec.SyscallRule(names: answeredENOSYS, action: "SCMP_ACT_ERRNO", errnoRet: ENOSYS, args: nil),
            // socket(AF_UNIX, …)
            OCISpec.SyscallRule(names: ["socket"], action: "SCMP_ACT_ALLOW", errnoRet: nil, args: [arg(0, equals: 1)]),
            // socket(AF_NETLINK, …, NETLINK_ROUTE)
            OCISpec.SyscallRule(names: ["socket"], action: "SCMP_ACT_ALLOW", errnoRet: nil, args: [arg(0, equals: 16), arg(2, equals: 0)]),
            OCISpec.SyscallRule(names: refused, action: "SCMP_ACT_ERRNO", errnoRet: EPERM, args: nil),
        ]
        // socket(AF_INET or AF_INET6, SOCK_STREAM or SOCK_DGRAM [| flags], …)
        for family: UInt64 in [2, 10] {
            for type: UInt64 in [1, 2] {
                rules.append(
                    OCISpec.SyscallRule(
                        names: ["socket"], action: "SCMP_ACT_ALLOW", errnoRet: nil,
                        args: [arg(0, equals: family), OCISpec.SyscallArg(index: 1, value: 0xF, valueTwo: type, op: "SCMP_CMP_MASKED_EQ")]
                    )
                )
            }
        }
        // personality: only the query and the harmless Linux personalities.
        for persona: UInt64 in [0, 8, 0x20000, 0x20008, 0xFFFF_FFFF] {
            rules.append(OCISpec.SyscallRule(names: ["personality"], action: "SCMP_ACT_ALLOW", errnoRet: nil, args: [arg(0, equals: persona)]))
        }
        return OCISpec.Seccomp(defaultAction: "SCMP_ACT_ERRNO", defaultErrnoRet: EPERM, architectures: nativeArchitectures, syscalls: rules)
    }

    /// Only the host's native system call ABI. A call through another one (i386 `int 0x80`,
    /// x32, arm32 compat) matches no architecture of the filter and kills the process: the
    /// compat entry points are a classic kernel attack surface, no runner uses them, and every
    /// extra architecture makes runc compile the whole filter again (about 5 ms per
    /// architecture at each instance start).
    static var nativeArchitectures: [String] {
        #if arch(x86_64)
            ["SCMP_ARCH_X86_64"]
        #elseif arch(arm64)
            ["SCMP_ARCH_AARCH64"]
        #else
            []
        #endif
    }

    private static func arg(_ index: UInt32, equals value: UInt64) -> OCISpec.SyscallArg {
        OCISpec.SyscallArg(index: index, value: value, valueTwo: nil, op: "SCMP_CMP_EQ")
    }
}
