/// The isolation tier an attack runs in: the `isolation` a function is deployed with.
enum AttackTier: String, CaseIterable, Sendable, CustomStringConvertible {
    /// runc: namespaces, no capabilities, no_new_privs, seccomp, read-only root, cgroups.
    case standard
    /// gVisor's runsc: the same, behind a user-space kernel.
    case hardened

    var description: String { rawValue }

    /// The deployment fields that choose this tier.
    var deployFields: [String: Any] { self == .standard ? [:] : ["isolation": rawValue] }
}

/// One attack of the attacker's `/escape` path: its key in the answer, what the table says was
/// tried, and the outcomes each tier may give (an errno name or the attacker's short outcome).
struct EscapeAttack: Sendable {
    var key: String
    var attack: String
    var standard: [String]
    var hardened: [String]

    init(_ key: String, _ attack: String, _ standard: [String], hardened: [String]? = nil) {
        self.key = key
        self.attack = attack
        self.standard = standard
        self.hardened = hardened ?? standard
    }

    func expected(in tier: AttackTier) -> [String] { tier == .standard ? standard : hardened }

    /// Every attack on the host, the platform and other instances, in table order. Expected
    /// outcomes of `hardened` that differ are gVisor's own answers for the same refusal.
    static let all: [EscapeAttack] = [
        // What the attacker starts with.
        EscapeAttack("uid", "run as root (uid of the handler's process)", ["uid 10001 euid 10001 gid 10001"]),
        EscapeAttack("caps", "use a capability (CapInh/Prm/Eff/Bnd/Amb in /proc/self/status)", ["none"]),
        EscapeAttack("no_new_privs", "gain privileges through exec (prctl(PR_GET_NO_NEW_PRIVS))", ["set"]),
        EscapeAttack("seccomp", "call unfiltered system calls (Seccomp in /proc/self/status)", ["filter"]),
        // Host files outside the binds.
        EscapeAttack("read_shadow", "read /etc/shadow", ["ENOENT", "EACCES"]),
        EscapeAttack("read_data_dir", "list the data directory (its host path)", ["ENOENT"]),
        EscapeAttack("read_data_db", "read <data>/swiftlet.db (store with hashed tokens and encrypted secrets)", ["ENOENT"]),
        EscapeAttack("read_victim_code", "read the victim's code at its host path <data>/code/<digest>-python3/handler.py", ["ENOENT"]),
        EscapeAttack("read_victim_secret_host", "read the victim's secret at its host path <run>/bundles/<victim>/secrets/<name>", ["ENOENT"]),
        EscapeAttack("read_victim_secret_mount", "read /var/openfaas/secrets/<victim's secret> (the attacker has no secrets)", ["ENOENT"]),
        EscapeAttack("read_proc1_root_shadow", "read /proc/1/root/etc/shadow", ["ENOENT", "EACCES"]),
        EscapeAttack("read_kcore", "read /proc/kcore (masked: never kernel memory)", ["empty", "EACCES", "EPERM", "ENOENT"]),
        // Writes.
        EscapeAttack("write_root", "create /pwned on the rootfs", ["EROFS", "EACCES"]),
        EscapeAttack("write_usr", "create /usr/pwned", ["EROFS", "EACCES"]),
        EscapeAttack("write_code", "create a file in the code dir /home/app/function", ["EROFS", "EACCES"]),
        EscapeAttack("write_handler", "overwrite /home/app/function/handler.py", ["EROFS", "EACCES"]),
        EscapeAttack("write_core_pattern", "write /proc/sys/kernel/core_pattern (host code execution on a crash)", ["EROFS", "EACCES", "ENOENT"]),
        EscapeAttack("write_sysrq", "write /proc/sysrq-trigger", ["EROFS", "EACCES", "ENOENT"]),
        EscapeAttack("read_dev_mem", "read /dev/mem", ["ENOENT"]),
        // Privileged system calls (libc.syscall, x86_64 numbers, each in a forked child).
        EscapeAttack("mount", "mount(tmpfs, /tmp)", ["EPERM"]),
        EscapeAttack("unshare_user", "unshare(CLONE_NEWUSER)", ["EPERM"]),
        EscapeAttack("unshare_net", "unshare(CLONE_NEWNET)", ["EPERM"]),
        EscapeAttack("unshare_mnt", "unshare(CLONE_NEWNS)", ["EPERM"]),
        EscapeAttack("setns_self_net", "setns(open(/proc/self/ns/net), CLONE_NEWNET)", ["EPERM"], hardened: ["EPERM", "ENOTSUP"]),
        EscapeAttack("setns_pid1_net", "setns(open(/proc/1/ns/net), CLONE_NEWNET)", ["EPERM"], hardened: ["EPERM", "ENOTSUP"]),
        EscapeAttack("setns_victim_net", "setns into the victim's netns: open /proc/<victim host pid>/ns/net", ["ENOENT"]),
        EscapeAttack("ptrace_pid1", "ptrace(PTRACE_ATTACH, 1) (the runner) from a child", ["EPERM"]),
        EscapeAttack("ptrace_child", "ptrace(PTRACE_ATTACH, own child) (allowed by the kernel without seccomp)", ["EPERM"]),
        EscapeAttack("bpf_map_create", "bpf(BPF_MAP_CREATE, hash map)", ["EPERM"], hardened: ["EPERM", "ENOSYS"]),
        EscapeAttack("bpf_prog_load", "bpf(BPF_PROG_LOAD, socket filter)", ["EPERM"], hardened: ["EPERM", "ENOSYS"]),
        EscapeAttack("init_module", "init_module(ELF image)", ["EPERM"], hardened: ["EPERM", "ENOSYS"]),
        EscapeAttack("finit_module", "finit_module(fd of /usr/bin/true)", ["EPERM"], hardened: ["EPERM", "ENOSYS"]),
        EscapeAttack("socket_raw", "socket(AF_INET, SOCK_RAW, IPPROTO_ICMP)", ["EPERM"], hardened: ["EPERM", "EAFNOSUPPORT"]),
        EscapeAttack("socket_packet", "socket(AF_PACKET, SOCK_RAW, ETH_P_ALL)", ["EPERM"], hardened: ["EPERM", "EAFNOSUPPORT"]),
        EscapeAttack("add_key", "add_key(user key, process keyring)", ["EPERM"], hardened: ["EPERM", "EACCES", "ENOSYS"]),
        EscapeAttack("keyctl", "keyctl(KEYCTL_GET_KEYRING_ID, session keyring, create)", ["EPERM"], hardened: ["EPERM", "EACCES", "ENOSYS"]),
        EscapeAttack("mknod", "mknod(/tmp/mem, char 1:1 as /dev/mem)", ["EPERM"]),
        EscapeAttack("perf_event_open", "perf_event_open(software clock, own process) (side channels)", ["EPERM"], hardened: ["EPERM", "ENOSYS", "ENODEV"]),
        EscapeAttack("userfaultfd", "userfaultfd(UFFD_USER_MODE_ONLY) (a kernel exploit primitive)", ["EPERM"], hardened: ["EPERM", "ENOSYS"]),
        EscapeAttack("io_uring_setup", "io_uring_setup(4 entries) (a large kernel attack surface)", ["ENOSYS"], hardened: ["ENOSYS", "EPERM"]),
        EscapeAttack("sethostname", "sethostname(\"pwned\")", ["EPERM"]),
        // Setuid binaries (host /usr is bound nosuid; no_new_privs is set).
        EscapeAttack(
            "setuid_su", "exec setuid-root /usr/bin/su root -c id, read its effective uid from /proc/<pid>/status while it blocks on a full stderr pipe",
            ["euid 10001"]
        ),
        EscapeAttack(
            "setuid_polkit", "exec setuid-root /usr/lib/polkit-1/polkit-agent-helper-1 (it says \"needs to be setuid root\" when its euid is not 0)",
            ["euid not 0", "absent"]
        ),
        // Network.
        EscapeAttack("connect_gateway", "connect to the gateway at 127.0.0.1:<gateway port>", ["ECONNREFUSED"]),
        EscapeAttack("connect_host_listener", "connect to a listener of the test on the host's 127.0.0.1", ["ECONNREFUSED"]),
        EscapeAttack(
            "connect_self_8080", "reach the victim: GET 127.0.0.1:8080/whoami (the victim has no address; 8080 must be the attacker itself)",
            ["own hostname"]
        ),
        EscapeAttack("loopback_scan", "connect to every port 1-65535 of 127.0.0.1", ["open: 8080"]),
        EscapeAttack("interfaces", "find an interface but lo in /proc/net/dev", ["only lo"]),
        EscapeAttack("routes", "find a route in /proc/net/route", ["none"]),
        EscapeAttack("routes6", "find a route not via lo in /proc/net/ipv6_route", ["only lo", "absent"]),
        // Other instances.
        EscapeAttack("kill_victim", "kill(<victim host pid>, SIGKILL)", ["ESRCH"]),
        EscapeAttack("read_victim_environ", "read /proc/<victim host pid>/environ", ["ENOENT"]),
        EscapeAttack("environ_scan", "scan every /proc/*/environ for the victim's VICTIM_MARKER value", ["not found"]),
    ]
}
