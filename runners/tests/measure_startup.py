#!/usr/bin/python3
"""Measure the cold start of the Swiftlet runners on this host.

For every run a runner is started as a subprocess on a free loopback port with a
trivial handler; the script records the time from just before the process is
spawned to

* ``health``: the first ``200`` answer to ``GET /_/health`` (polled on
  127.0.0.1 with a raw socket, about every 0.5 ms),
* ``ready``: ``ready\\n`` arriving on the ready pipe (``SWIFTLET_READY_FD``), when
  the runner supports it,
* ``first``: the first answer of the handler itself (``GET /``), sent right
  after health succeeded.

With ``--warm`` the runner starts in pool mode (``SWIFTLET_WARM=1``) and the
script additionally times ``POST /_/specialise`` plus the first handler answer.

The runner gets the environment the platform would give it (PATH, HOME, LANG,
PYTHON*, SWIFTLET_*), not the caller's. Only 127.0.0.1 is used. Example::

    python3 runners/tests/measure_startup.py --runs 20
    python3 runners/tests/measure_startup.py --kind python --runner /tmp/old/runner.py \
        --runner runners/python3/runner.py

It prints the median, minimum and 90th percentile in milliseconds.
"""

import argparse
import json
import os
import select
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
RUNNERS = {
    "python": ROOT / "runners" / "python3" / "runner.py",
    "node": ROOT / "runners" / "node" / "runner.js",
}
HANDLERS = {
    "python": ("handler.py", "def handle(event, context):\n    return {'body': 'hello'}\n"),
    "node": ("handler.js", "module.exports = async (event, context) => 'hello';\n"),
}
PYTHON = "/usr/bin/python3" if os.path.exists("/usr/bin/python3") else sys.executable
NODE = "/usr/bin/node" if os.path.exists("/usr/bin/node") else shutil.which("node")
TIMEOUT = 20.0


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def command(kind, runner):
    if kind == "python":
        # As the platform starts it (NativeProvider.runnerCommand).
        return [PYTHON, "-u", "-B", str(runner)]
    return [NODE, str(runner)]


def http_once(port, method="GET", path="/_/health", body=b""):
    """One HTTP/1.1 request on a fresh connection -> status code (None if refused)."""
    try:
        s = socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT)
    except OSError:
        return None, b""
    try:
        head = "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nContent-Length: %d\r\n\r\n" % (
            method, path, len(body))
        s.sendall(head.encode("ascii") + body)
        data = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
        if not data.startswith(b"HTTP/1."):
            return None, data
        return int(data.split(b" ", 2)[1]), data.partition(b"\r\n\r\n")[2]
    except OSError:
        return None, b""
    finally:
        s.close()


def one_run(kind, runner, workdir, warm, use_ready_fd):
    fdir = workdir / "function"
    fdir.mkdir(parents=True, exist_ok=True)
    name, source = HANDLERS[kind]
    (fdir / name).write_text(source)
    port = free_port()
    # The environment the platform gives a runner (NativeProvider.environment), not this
    # shell's: variables such as NODE_EXTRA_CA_CERTS would otherwise dominate the figures.
    env = {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "HOME": str(workdir),
        "LANG": "C.UTF-8",
        "PYTHONDONTWRITEBYTECODE": "1",
        "PYTHONUNBUFFERED": "1",
        "TMPDIR": tempfile.gettempdir(),
        "HOSTNAME": "measure-startup",
        "SWIFTLET_FUNCTION_NAME": "measure",
        "SWIFTLET_FUNCTION_DIR": str(fdir),
        "SWIFTLET_RUNNER_PORT": str(port),
    }
    if warm:
        env["SWIFTLET_WARM"] = "1"
        env["SWIFTLET_FUNCTION_DIR"] = str(workdir / "empty")
    rfd = wfd = None
    pass_fds = ()
    if use_ready_fd:
        rfd, wfd = os.pipe()
        env["SWIFTLET_READY_FD"] = str(wfd)
        pass_fds = (wfd,)
    result = {}
    started = time.perf_counter()
    proc = subprocess.Popen(command(kind, runner), env=env, cwd=str(workdir), stdin=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, pass_fds=pass_fds)
    try:
        if wfd is not None:
            os.close(wfd)
        deadline = started + TIMEOUT
        ready_buf = b""
        while True:
            now = time.perf_counter()
            if now > deadline:
                raise RuntimeError("%s runner did not become healthy" % kind)
            if proc.poll() is not None:
                raise RuntimeError("%s runner exited with %s" % (kind, proc.returncode))
            if rfd is not None and "ready" not in result:
                r, _, _ = select.select([rfd], [], [], 0)
                if r:
                    chunk = os.read(rfd, 64)
                    ready_buf += chunk
                    if ready_buf == b"ready\n" or not chunk:
                        result["ready"] = time.perf_counter() - started if chunk else float("nan")
            status, _ = http_once(port)
            if status == 200:
                result["health"] = time.perf_counter() - started
                break
            time.sleep(0.0005)
        if rfd is not None and "ready" not in result:
            r, _, _ = select.select([rfd], [], [], 5)
            result["ready"] = time.perf_counter() - started if r and os.read(rfd, 64) else float("nan")
        if warm:
            body = json.dumps({"env": {"GREETING": "hi"}, "functionDir": str(fdir)}).encode()
            t0 = time.perf_counter()
            status, out = http_once(port, "POST", "/_/specialise", body)
            if status != 200:
                raise RuntimeError("specialise failed: %s %r" % (status, out))
            result["specialise"] = time.perf_counter() - t0
            status, out = http_once(port, "GET", "/")
            result["specialise+first"] = time.perf_counter() - t0
        else:
            status, out = http_once(port, "GET", "/")
            result["first"] = time.perf_counter() - started
        if status != 200:
            raise RuntimeError("handler answered %s: %r" % (status, out))
    finally:
        proc.kill()
        proc.wait()
        if rfd is not None:
            os.close(rfd)
    return result


def summary(values):
    values = sorted(v * 1000 for v in values if v == v)
    if not values:
        return "n/a"
    p90 = values[min(len(values) - 1, int(round(0.9 * (len(values) - 1))))]
    return "median %7.1f ms   min %7.1f ms   p90 %7.1f ms" % (statistics.median(values), values[0], p90)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--kind", choices=["python", "node", "both"], default="both")
    ap.add_argument("--runner", action="append", default=[],
                    help="runner file to measure instead of the one in this tree (one --kind only); "
                         "give it more than once to compare runners: their runs are interleaved, so "
                         "load on the host affects them alike")
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--warm", action="store_true", help="start in warm (pool) mode and time specialisation")
    ap.add_argument("--ready-fd", action="store_true", help="also pass a ready pipe and time the signal")
    args = ap.parse_args()
    kinds = ["python", "node"] if args.kind == "both" else [args.kind]
    if args.runner and len(kinds) != 1:
        ap.error("--runner needs --kind python or --kind node")
    for kind in kinds:
        if kind == "node" and NODE is None:
            print("node: not installed, skipped")
            continue
        runners = [Path(r).resolve() for r in args.runner] or [RUNNERS[kind]]
        results = {r: [] for r in runners}
        with tempfile.TemporaryDirectory(prefix="swiftlet-measure-") as tmp:
            for j, runner in enumerate(runners):  # fill the page cache
                one_run(kind, runner, Path(tmp) / ("warmup%d" % j), args.warm, args.ready_fd)
            for i in range(args.runs):
                for j, runner in enumerate(runners):
                    results[runner].append(one_run(kind, runner, Path(tmp) / ("run%d-%d" % (i, j)),
                                                   args.warm, args.ready_fd))
        for runner in runners:
            print("%s (%s, %d runs%s):" % (kind, runner, args.runs, ", warm" if args.warm else ""))
            for key in ("ready", "health", "first", "specialise", "specialise+first"):
                values = [r[key] for r in results[runner] if key in r]
                if values:
                    print("  %-17s %s" % (key, summary(values)))


if __name__ == "__main__":
    main()
