#!/usr/bin/python3
"""Measurement helper of scripts/bench.sh (standard library only).

Subcommands (every figure is timed with time.perf_counter(), a monotonic clock):

  free-port                               print a free TCP port on 127.0.0.1
  wait-http URL TIMEOUT                   wait until GET URL answers 200
  swiftlet-key DATA_DIR                   the run-directory key Swiftlet derives from DATA_DIR
  cold-swiftlet GATEWAY DATA_DIR RUNTIME CODE RUNS PREFIX
                                          deploy -> first 200 -> remove, RUNS times (JSON out)
  make-bundle DIR                         a bare OCI bundle: read-only rootfs of host binds
  cold-runc RUNC STATE BUNDLE RUNS ARG... `runc run` of ARG..., RUNS times (JSON out)
  cold-host RUNS ARG...                   ARG... run directly on the host, RUNS times (JSON out)
  cold-direct RUNTIME RUNNER CODE RUNS    the runner spawned on the host -> first 200 (JSON out)
  instance-pid STATE_ROOT PREFIX          host pid of the running swiftlet container PREFIX-*
  wrk-parse FILE                          wrk --latency output -> JSON
  start-ms LOGFILE PREFIX                 the "instance ready" start_ms values Swiftlet logged
  fmt-cold JSON [KEY]                     "median ms (min–max)" of a cold-start result (or its KEY)
  fmt-wrk JSON FIELD                      one wrk figure: p50, p99 (ms), rps, errors
  errors JSON LABEL                       print the errors a result recorded, one a line
  table RESULTS                           render the results file as the final table
"""

import base64
import http.client
import json
import os
import re
import socket
import statistics
import subprocess
import sys
import time
import urllib.request


def out(obj):
    print(json.dumps(obj))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get(port, path, timeout=60.0):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("GET", path, headers={"User-Agent": "swiftlet-bench"})
        resp = conn.getresponse()
        body = resp.read()
        return resp.status, body
    finally:
        conn.close()


def wait_http(url, timeout):
    deadline = time.perf_counter() + float(timeout)
    last = None
    while time.perf_counter() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                if r.status == 200:
                    return 0
        except Exception as e:  # not up yet
            last = e
        time.sleep(0.05)
    print("timed out waiting for %s (%s)" % (url, last), file=sys.stderr)
    return 1


def swiftlet_key(data_dir):
    # SandboxHost.key: FNV-1a 64 of the standardized path, hex without leading zeros.
    path = os.path.normpath(os.path.abspath(data_dir))
    h = 0xCBF29CE484222325
    for b in path.encode():
        h ^= b
        h = (h * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return "%x" % h


def summary(values):
    return {
        "n": len(values),
        "median": statistics.median(values) if values else None,
        "min": min(values) if values else None,
        "max": max(values) if values else None,
        "values": [round(v, 2) for v in values],
    }


# --------------------------------------------------------------------------
# Cold start through Swiftlet
# --------------------------------------------------------------------------

class Gateway:
    def __init__(self, url, data_dir):
        m = re.match(r"http://([^:/]+):(\d+)", url)
        self.host, self.port = m.group(1), int(m.group(2))
        user = open(os.path.join(data_dir, "basic-auth-user")).read().strip()
        password = open(os.path.join(data_dir, "basic-auth-password")).read().strip()
        self.auth = "Basic " + base64.b64encode(("%s:%s" % (user, password)).encode()).decode()

    def call(self, method, path, body=None, timeout=60.0):
        conn = http.client.HTTPConnection(self.host, self.port, timeout=timeout)
        try:
            headers = {"Authorization": self.auth, "User-Agent": "swiftlet-bench"}
            data = None
            if body is not None:
                data = json.dumps(body).encode()
                headers["Content-Type"] = "application/json"
            conn.request(method, path, body=data, headers=headers)
            resp = conn.getresponse()
            return resp.status, resp.read()
        finally:
            conn.close()


def runc_list(root):
    if not os.path.isdir(root):
        return []
    p = subprocess.run(["/usr/bin/runc", "--root", root, "list", "--quiet"],
                       capture_output=True, text=True)
    return [l for l in p.stdout.split() if l]


def cold_swiftlet(gateway_url, data_dir, runtime, code_path, runs, prefix):
    gw = Gateway(gateway_url, data_dir)
    code = base64.b64encode(open(code_path, "rb").read()).decode()
    state_root = "/run/swiftlet/%s/runc" % swiftlet_key(data_dir)
    totals, posts, errors = [], [], []
    for i in range(int(runs)):
        name = "%s-%d" % (prefix, i + 1)
        t0 = time.perf_counter()
        status, body = gw.call("POST", "/system/functions",
                               {"service": name, "runtime": runtime, "code": code})
        t_post = time.perf_counter()
        if status not in (200, 201, 202):
            errors.append("deploy %s: HTTP %d %s" % (name, status, body[:200]))
            continue
        # The first call waits until the instance is ready; retry on an error answer.
        ok = False
        deadline = t0 + 60.0
        attempts = 0
        while time.perf_counter() < deadline:
            attempts += 1
            try:
                status, body = get(gw.port, "/function/%s?name=bench" % name, timeout=60.0)
            except OSError as e:
                status, body = 0, str(e).encode()
            if status == 200:
                ok = True
                break
            errors.append("call %s attempt %d: HTTP %d %s" % (name, attempts, status, body[:200]))
            time.sleep(0.005)
        t1 = time.perf_counter()
        if ok:
            totals.append((t1 - t0) * 1000.0)
            posts.append((t_post - t0) * 1000.0)
        else:
            errors.append("no 200 from %s within 60 s" % name)
        status, body = gw.call("DELETE", "/system/functions", {"functionName": name})
        if status != 200:
            errors.append("remove %s: HTTP %d %s" % (name, status, body[:200]))
        # Let the teardown finish before the next run (the DELETE already waits for it).
        end = time.perf_counter() + 10.0
        while runc_list(state_root) and time.perf_counter() < end:
            time.sleep(0.05)
        time.sleep(0.3)
    res = summary(totals)
    res["post_ms"] = summary(posts)
    res["errors"] = errors
    out(res)


# --------------------------------------------------------------------------
# Bare runc reference
# --------------------------------------------------------------------------

def make_bundle(directory):
    rootfs = os.path.join(directory, "rootfs")
    for d in ("usr", "proc", "dev", "tmp", "etc"):
        os.makedirs(os.path.join(rootfs, d), exist_ok=True)
    os.chmod(os.path.join(rootfs, "tmp"), 0o1777)
    mounts = [
        {"destination": "/proc", "type": "proc", "source": "proc", "options": ["nosuid", "noexec", "nodev"]},
        {"destination": "/dev", "type": "tmpfs", "source": "tmpfs",
         "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]},
        {"destination": "/tmp", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "nodev", "mode=1777"]},
        {"destination": "/usr", "type": "bind", "source": "/usr", "options": ["rbind", "ro", "nosuid", "nodev"]},
    ]
    # Merged /usr: mirror the host's /bin, /lib... symlinks; bind real directories.
    for top in ("bin", "sbin", "lib", "lib32", "lib64", "libx32"):
        host = "/" + top
        if os.path.islink(host):
            os.symlink(os.readlink(host), os.path.join(rootfs, top))
        elif os.path.isdir(host):
            os.makedirs(os.path.join(rootfs, top), exist_ok=True)
            mounts.append({"destination": host, "type": "bind", "source": host,
                           "options": ["rbind", "ro", "nosuid", "nodev"]})
    # The dynamic loader's cache, so library lookups cost what they cost on the host.
    if os.path.exists("/etc/ld.so.cache"):
        open(os.path.join(rootfs, "etc", "ld.so.cache"), "w").close()
        mounts.append({"destination": "/etc/ld.so.cache", "type": "bind", "source": "/etc/ld.so.cache",
                       "options": ["bind", "ro"]})
    config = {
        "ociVersion": "1.0.2",
        "process": {
            "terminal": False,
            "user": {"uid": 10001, "gid": 10001},
            "args": ["/usr/bin/true"],
            "env": ["PATH=/usr/bin:/bin", "HOME=/tmp", "LANG=C.UTF-8", "PYTHONDONTWRITEBYTECODE=1"],
            "cwd": "/tmp",
            "capabilities": {"bounding": [], "effective": [], "permitted": [], "ambient": []},
            "noNewPrivileges": True,
        },
        "root": {"path": "rootfs", "readonly": True},
        "hostname": "bench",
        "mounts": mounts,
        "linux": {
            "namespaces": [{"type": t} for t in ("pid", "ipc", "uts", "mount", "network")],
            "maskedPaths": ["/proc/kcore", "/proc/keys", "/proc/timer_list", "/sys/firmware"],
            "readonlyPaths": ["/proc/sys", "/proc/sysrq-trigger"],
        },
    }
    with open(os.path.join(directory, "config.json"), "w") as f:
        json.dump(config, f, indent=1)


def cold_runc(runc, state, bundle, runs, args):
    cfg_path = os.path.join(bundle, "config.json")
    config = json.load(open(cfg_path))
    config["process"]["args"] = args
    json.dump(config, open(cfg_path, "w"), indent=1)
    times, errors = [], []
    for i in range(int(runs)):
        cid = "swiftlet-bench-%d-%d" % (os.getpid(), i)
        t0 = time.perf_counter()
        p = subprocess.run([runc, "--root", state, "run", "--bundle", bundle, cid],
                           stdin=subprocess.DEVNULL, capture_output=True)
        t1 = time.perf_counter()
        if p.returncode == 0:
            times.append((t1 - t0) * 1000.0)
        else:
            errors.append("runc run %s: exit %d: %s" % (cid, p.returncode, p.stderr.decode()[-300:]))
            subprocess.run([runc, "--root", state, "delete", "-f", cid], capture_output=True)
        time.sleep(0.1)
    res = summary(times)
    res["errors"] = errors
    out(res)


# The environment of the bare bundle and of the runners (like Swiftlet's sandboxes): the
# caller's environment can slow runtimes down (NODE_EXTRA_CA_CERTS costs node ~20 ms).
CLEAN_ENV = {"PATH": "/usr/bin:/bin", "HOME": "/tmp", "LANG": "C.UTF-8", "PYTHONDONTWRITEBYTECODE": "1"}


def cold_host(runs, args):
    times, errors = [], []
    for _ in range(int(runs)):
        t0 = time.perf_counter()
        p = subprocess.run(args, stdin=subprocess.DEVNULL, capture_output=True, env=CLEAN_ENV)
        t1 = time.perf_counter()
        if p.returncode == 0:
            times.append((t1 - t0) * 1000.0)
        else:
            errors.append("%s: exit %d" % (args, p.returncode))
        time.sleep(0.1)
    res = summary(times)
    res["errors"] = errors
    out(res)


def runner_command(runtime, runner):
    if runtime == "python3":
        return ["/usr/bin/python3", "-u", "-B", runner]
    return ["/usr/bin/node", runner]


def runner_env(function_dir, port):
    return {
        "PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": "/tmp", "LANG": "C.UTF-8",
        "PYTHONDONTWRITEBYTECODE": "1", "PYTHONUNBUFFERED": "1", "TMPDIR": "/tmp",
        "SWIFTLET_FUNCTION_DIR": function_dir, "SWIFTLET_RUNNER_PORT": str(port),
        "SWIFTLET_FUNCTION_NAME": "bench-direct", "HOSTNAME": "bench-direct",
    }


def cold_direct(runtime, runner, function_dir, runs):
    """Spawn the runner on the host, poll its health path, then call the handler."""
    times, errors = [], []
    for _ in range(int(runs)):
        port = free_port()
        t0 = time.perf_counter()
        proc = subprocess.Popen(runner_command(runtime, runner), env=runner_env(function_dir, port),
                                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        ok = False
        try:
            while time.perf_counter() - t0 < 30.0:
                try:
                    status, _ = get(port, "/?name=bench", timeout=5.0)
                    if status == 200:
                        ok = True
                        break
                except OSError:
                    pass
                time.sleep(0.002)
            t1 = time.perf_counter()
        finally:
            proc.terminate()
            try:
                proc.wait(5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        if ok:
            times.append((t1 - t0) * 1000.0)
        else:
            errors.append("the %s runner gave no 200 within 30 s" % runtime)
        time.sleep(0.1)
    res = summary(times)
    res["errors"] = errors
    out(res)


# --------------------------------------------------------------------------
# wrk output, Swiftlet's log, the table
# --------------------------------------------------------------------------

def to_ms(text):
    m = re.match(r"([\d.]+)(us|ms|s|m)$", text)
    if not m:
        return None
    value, unit = float(m.group(1)), m.group(2)
    return value * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}[unit]


def wrk_parse(path):
    text = open(path).read()
    res = {"p50": None, "p90": None, "p99": None, "rps": None, "requests": None,
           "non2xx": 0, "socket_errors": 0, "raw_tail": text[-400:]}
    for pct, key in (("50", "p50"), ("90", "p90"), ("99", "p99")):
        m = re.search(r"^\s+%s%%\s+(\S+)" % pct, text, re.M)
        if m:
            res[key] = to_ms(m.group(1))
    m = re.search(r"Requests/sec:\s+([\d.]+)", text)
    if m:
        res["rps"] = float(m.group(1))
    m = re.search(r"(\d+) requests in", text)
    if m:
        res["requests"] = int(m.group(1))
    m = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", text)
    if m:
        res["non2xx"] = int(m.group(1))
    m = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text)
    if m:
        res["socket_errors"] = sum(int(x) for x in m.groups())
        res["socket_detail"] = "connect %s, read %s, write %s, timeout %s" % m.groups()
    out(res)


def start_ms(logfile, prefix):
    values = []
    for line in open(logfile, errors="replace"):
        if "instance ready" not in line or ("swiftlet.function=%s" % prefix) not in line:
            continue
        m = re.search(r"swiftlet\.start_ms=(\d+)", line)
        if m:
            values.append(float(m.group(1)))
    out(summary(values))


def table(results_path):
    rows = []
    for line in open(results_path):
        line = line.rstrip("\n")
        if not line:
            continue
        parts = line.split("\t")
        while len(parts) < 4:
            parts.append("")
        rows.append(parts[:4])
    header = ["measurement", "swiftlet", "reference", "reference name"]
    widths = [max(len(r[i]) for r in rows + [header]) for i in range(4)]

    def fmt(r):
        return "| " + " | ".join(r[i].ljust(widths[i]) for i in range(4)) + " |"

    print(fmt(header))
    print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for r in rows:
        print(fmt(r))


def fmt_ms(v):
    if v is None:
        return "n/a"
    if v < 10:
        return "%.2f" % v
    if v < 100:
        return "%.1f" % v
    return "%.0f" % v


def fmt_cold(path, key=None):
    r = json.load(open(path))
    if key:
        r = r.get(key) or {}
    if not r.get("n"):
        print("FAILED (%d errors)" % len(r.get("errors", [])))
        return
    text = "%s ms (%s–%s)" % (fmt_ms(r["median"]), fmt_ms(r["min"]), fmt_ms(r["max"]))
    if r.get("errors"):
        text += " [%d errors]" % len(r["errors"])
    print(text)


def fmt_wrk(path, field):
    r = json.load(open(path))
    if field in ("p50", "p90", "p99"):
        print("n/a" if r.get(field) is None else fmt_ms(r[field]) + " ms")
    elif field == "rps":
        print("n/a" if r.get("rps") is None else "%.0f req/s" % r["rps"])
    elif field == "errors":
        text = "%d non-2xx, %d socket" % (r.get("non2xx", 0), r.get("socket_errors", 0))
        if r.get("requests") is not None:
            text += " / %d" % r["requests"]
        print(text)


def print_errors(path, label):
    r = json.load(open(path))
    errs = list(r.get("errors", []))
    if r.get("non2xx"):
        errs.append("%d non-2xx answers" % r["non2xx"])
    if r.get("socket_errors"):
        errs.append("socket errors: %s" % r.get("socket_detail"))
    for e in errs:
        print("%s: %s" % (label, e))


def instance_pid(state_root, prefix):
    for cid in runc_list(state_root):
        if cid.startswith(prefix + "-"):
            p = subprocess.run(["/usr/bin/runc", "--root", state_root, "state", cid],
                               capture_output=True, text=True)
            state = json.loads(p.stdout)
            if state.get("status") == "running":
                print(state["pid"])
                return 0
    print("no running container %s-* under %s" % (prefix, state_root), file=sys.stderr)
    return 1


def main(argv):
    cmd, args = argv[1], argv[2:]
    if cmd == "free-port":
        print(free_port())
    elif cmd == "wait-http":
        return wait_http(args[0], args[1])
    elif cmd == "swiftlet-key":
        print(swiftlet_key(args[0]))
    elif cmd == "cold-swiftlet":
        cold_swiftlet(*args[:6])
    elif cmd == "make-bundle":
        make_bundle(args[0])
    elif cmd == "cold-runc":
        cold_runc(args[0], args[1], args[2], args[3], args[4:])
    elif cmd == "cold-host":
        cold_host(args[0], args[1:])
    elif cmd == "cold-direct":
        cold_direct(*args[:4])
    elif cmd == "instance-pid":
        return instance_pid(args[0], args[1])
    elif cmd == "wrk-parse":
        wrk_parse(args[0])
    elif cmd == "start-ms":
        start_ms(args[0], args[1])
    elif cmd == "fmt-cold":
        fmt_cold(*args[:2])
    elif cmd == "fmt-wrk":
        fmt_wrk(args[0], args[1])
    elif cmd == "errors":
        print_errors(args[0], args[1])
    elif cmd == "table":
        table(args[0])
    else:
        print("unknown subcommand %s" % cmd, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
