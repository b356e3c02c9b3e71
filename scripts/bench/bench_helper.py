#!/usr/bin/python3
"""Measurement helper of scripts/bench.sh (standard library only).

Subcommands (every figure is timed with time.perf_counter(), a monotonic clock):

  free-port                               print a free TCP port on 127.0.0.1
  wait-http URL TIMEOUT                   wait until GET URL answers 200
  swiftlet-key DATA_DIR                   the run-directory key Swiftlet derives from DATA_DIR
  cold-swiftlet GATEWAY DATA_DIR RUNTIME CODE RUNS PREFIX
                                          deploy -> first 200 -> remove, RUNS times (JSON out)
  cold-swiftlet-image GATEWAY DATA_DIR IMAGE READONLY RUNS PREFIX
                                          the same for an image function (GET /function/NAME/)
  make-image DIR REFERENCE                a busybox httpd image as a `docker save` tarball
                                          (DIR/image.tar; its rootfs stays in DIR/rootfs)
  import-image GATEWAY DATA_DIR TARBALL   POST /system/images/import, timed (JSON out)
  image-rootfs DATA_DIR                   the unpacked rootfs dir of the (single) stored image
  make-image-bundle DIR ROOTFS            an OCI bundle whose read-only root is ROOTFS (uid 1000)
  cold-runc-httpd RUNC STATE BUNDLE RUNS MODE PORT PATH
                                          start busybox httpd in BUNDLE (MODE run: `runc run -d`;
                                          create: `runc create`, loopback up, `runc start`) ->
                                          first 200 on 127.0.0.1:PORT inside its netns (JSON out)
  make-bundle DIR                         a bare OCI bundle: read-only rootfs of host binds
  cold-runc RUNC STATE BUNDLE RUNS ARG... `runc run` of ARG..., RUNS times (JSON out)
  cold-host RUNS ARG...                   ARG... run directly on the host, RUNS times (JSON out)
  cold-direct RUNTIME RUNNER CODE RUNS    the runner spawned on the host -> first 200 (JSON out)
  make-busybox-bundle DIR                 an OCI bundle whose rootfs holds only /bin/busybox
  cold-docker RUNS PREFIX IMAGE ARG...    `docker run --rm --name PREFIX<i> IMAGE ARG...`, RUNS
                                          times (JSON out)
  wait-pool GATEWAY DATA_DIR TIMEOUT      wait until every warm pool is full (ready == size)
  scale-zero GATEWAY DATA_DIR RUNTIME CODE RUNS NAME LOGFILE
                                          deploy NAME (may scale to zero), then RUNS times: scale
                                          to 0, wait until stopped and the pool is full, time one
                                          call -> first 200 (JSON out)
  function-status GATEWAY DATA_DIR NAME   print "replicas availableReplicas" of NAME
  wait-replicas GATEWAY DATA_DIR NAME TIMEOUT
                                          wait until NAME has availableReplicas >= replicas
  instance-pid STATE_ROOT PREFIX          host pid of the running swiftlet container PREFIX-*
  instance-pid-of STATE_ROOT NAME RUNTIME host pid of an instance of code function NAME (its own
                                          container NAME-*, or a specialised warm-RUNTIME-* one)
  wrk-parse FILE [STATUS]                 wrk --latency output -> JSON (with post.lua: the answers by
                                          status; any other than STATUS is an error)
  async-wait-idle GATEWAY DATA_DIR NAME TIMEOUT
                                          wait until NAME has no queued or running async call (JSON
                                          out: calls pending at the start, seconds)
  async-complete GATEWAY DATA_DIR NAME CALLS CONNECTIONS TIMEOUT
                                          CALLS POST /async-function/NAME over CONNECTIONS keep-alive
                                          connections as fast as acknowledged, counts polled every
                                          50 ms until all finished (JSON out: completed calls/s)
  sync-batch GATEWAY NAME CALLS CONNECTIONS
                                          the same CALLS as POST /function/NAME (JSON out)
  async-e2e GATEWAY DATA_DIR NAME RUNS TIMEOUT
                                          RUNS single async calls with a loopback X-Callback-Url:
                                          POST -> callback received, interleaved with sync calls
  async-audit GATEWAY DATA_DIR NAME SLACK TIMEOUT JSON...
                                          every 202 the results recorded is a succeeded call
  fmt-async JSON total|enqueue|drain|audit
                                          one async figure
  start-ms LOGFILE PREFIX                 the "instance ready" start_ms values Swiftlet logged
  fmt-cold JSON [KEY]                     "median ms (min–max)" of a cold-start result (or its KEY)
  fmt-pct JSON [KEY]                      "p50 X ms, p99 Y ms" of a result (p99: nearest rank)
  fmt-field JSON KEY...                   the values of KEY... joined by " / "
  fmt-ms JSON KEY                         one figure of a result, in ms
  targets RUNC_JSON POOL_JSON NOPOOL_JSON LABEL
                                          the scale-from-zero targets against runc run, explicitly
  fmt-wrk JSON FIELD                      one wrk figure: p50, p99 (ms), rps, errors
  errors JSON LABEL                       print the errors a result recorded, one a line
  table RESULTS                           render the results file as the final table
  cold-swiftlet-tier GATEWAY DATA_DIR RUNTIME CODE RUNS PREFIX ISOLATION
                                          cold-swiftlet with "isolation": ISOLATION in the deploy
                                          body; settles on the runc and the runsc containers
  oci-list RUNTIME ROOT                   the container ids under ROOT (runc or runsc), one a line
  instance-memory DATA_DIR NAME           the idle memory of the running instance of NAME (runc or
                                          runsc): cgroup v1 usage and the PSS/RSS of its host
                                          processes (JSON out)
  fmt-mem JSON cgroup|pss|rss             one memory figure in MiB (with the process count)
  ratio JSON KEY JSON KEY                 "×R": the first figure divided by the second (dotted KEYs)
  table-cols RESULTS HEADER...            render a tab-separated results file with these columns
"""

import base64
import http.client
import json
import math
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


def percentile(values, q):
    """The nearest-rank percentile q (0-100) of values: an observed value, never interpolated
    (with 30 values p99 is the largest)."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(1, math.ceil(q / 100.0 * len(ordered))) - 1]


def summary(values):
    return {
        "n": len(values),
        "median": statistics.median(values) if values else None,
        "p50": statistics.median(values) if values else None,
        "p99": percentile(values, 99),
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

    def call(self, method, path, body=None, timeout=60.0, raw=None, content_type=None):
        conn = http.client.HTTPConnection(self.host, self.port, timeout=timeout)
        try:
            headers = {"Authorization": self.auth, "User-Agent": "swiftlet-bench"}
            data = None
            if body is not None:
                data = json.dumps(body).encode()
                headers["Content-Type"] = "application/json"
            elif raw is not None:
                data = raw
                headers["Content-Type"] = content_type or "application/octet-stream"
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


def runsc_list(root):
    """The container ids under gVisor's state ROOT ([] without one)."""
    if not os.path.isdir(root):
        return []
    p = subprocess.run(["/usr/bin/runsc", "--root", root, "list", "--quiet"],
                       capture_output=True, text=True)
    return [l for l in p.stdout.split() if l]


def get_json(gw, path):
    """GET path with the gateway's credentials -> the decoded JSON, or None."""
    try:
        status, body = gw.call("GET", path, timeout=10.0)
    except OSError:
        return None
    if status != 200:
        return None
    try:
        return json.loads(body)
    except ValueError:
        return None


def pool_full(pools):
    """True when every runtime's warm pool is full and nothing is starting ([] -> no pool)."""
    return pools is not None and all(p.get("ready", 0) >= p.get("size", 0) and p.get("starting", 0) == 0 for p in pools)


def pool_counts(gw, runtime):
    """(hits, misses) of RUNTIME's warm pool, (0, 0) without one."""
    for p in get_json(gw, "/system/pool") or []:
        if p.get("runtime") == runtime:
            return p.get("hits", 0), p.get("misses", 0)
    return 0, 0


def wait_pool(gw, timeout):
    deadline = time.perf_counter() + float(timeout)
    pools = None
    while time.perf_counter() < deadline:
        pools = get_json(gw, "/system/pool")
        if pool_full(pools):
            return True, pools
        time.sleep(0.05)
    return False, pools


def settle(gw, state_root, baseline, name=None, timeout=30.0, runsc_root=None):
    """Waits until the runc root holds no more than BASELINE containers, every warm pool is full
    and (with NAME) NAME has 0 replicas and 0 available. Returns (ok, waited ms, what was missing).
    With RUNSC_ROOT, BASELINE counts the containers of both roots."""
    t0 = time.perf_counter()
    while True:
        missing = []
        if name is not None:
            st = get_json(gw, "/system/function/%s" % name)
            if st is None or st.get("replicas") != 0 or st.get("availableReplicas") != 0:
                missing.append("%s status %s" % (name, None if st is None else
                                                  {k: st.get(k) for k in ("replicas", "availableReplicas")}))
        pools = get_json(gw, "/system/pool")
        if not pool_full(pools):
            missing.append("pool %s" % pools)
        count = len(runc_list(state_root))
        if runsc_root is not None:
            count += len(runsc_list(runsc_root))
        if count > baseline:
            missing.append("%d containers (baseline %d)" % (count, baseline))
        waited = (time.perf_counter() - t0) * 1000.0
        if not missing:
            return True, waited, ""
        if waited > timeout * 1000.0:
            return False, waited, "; ".join(missing)
        time.sleep(0.02)


def first_200(port, path, limit=60.0):
    """GET path on a fresh connection, again on an error answer, until a 200.
    Returns (ms until the 200 or None, error strings, attempts)."""
    errors = []
    attempts = 0
    t0 = time.perf_counter()
    while True:
        attempts += 1
        try:
            status, body = get(port, path, timeout=limit)
        except OSError as e:
            status, body = 0, str(e).encode()
        if status == 200:
            return (time.perf_counter() - t0) * 1000.0, errors, attempts
        errors.append("GET %s attempt %d: HTTP %d %s" % (path, attempts, status, body[:200]))
        if time.perf_counter() - t0 > limit:
            errors.append("no 200 from %s within %.0f s" % (path, limit))
            return None, errors, attempts
        time.sleep(0.005)


def cold_swiftlet(gateway_url, data_dir, runtime, code_path, runs, prefix):
    code = base64.b64encode(open(code_path, "rb").read()).decode()
    cold_loop(gateway_url, data_dir, runs, prefix,
              lambda name: {"service": name, "runtime": runtime, "code": code},
              "/function/%s?name=bench", runtime)


def cold_swiftlet_image(gateway_url, data_dir, image, readonly, runs, prefix):
    ro = readonly in ("1", "true", "yes")
    cold_loop(gateway_url, data_dir, runs, prefix,
              lambda name: {"service": name, "image": image, "readOnlyRootFilesystem": ro},
              "/function/%s/")


def cold_swiftlet_tier(gateway_url, data_dir, runtime, code_path, runs, prefix, isolation):
    """cold_swiftlet with the deploy field "isolation", settling on runc and runsc containers."""
    code = base64.b64encode(open(code_path, "rb").read()).decode()
    cold_loop(gateway_url, data_dir, runs, prefix,
              lambda name: {"service": name, "runtime": runtime, "code": code, "isolation": isolation},
              "/function/%s?name=bench", runtime,
              runsc_root="/run/swiftlet/%s/runsc" % swiftlet_key(data_dir))


def cold_loop(gateway_url, data_dir, runs, prefix, make_body, call_path, runtime=None, runsc_root=None):
    """deploy -> first 200 from call_path % name -> remove, RUNS times, a new name each time.
    With RUNSC_ROOT the settling between runs also counts the containers under it."""
    gw = Gateway(gateway_url, data_dir)
    state_root = "/run/swiftlet/%s/runc" % swiftlet_key(data_dir)
    totals, posts, errors = [], [], []
    # Start every run from the same state: the warm pool (if any) full, no container but the
    # pool's and those of functions deployed before (a pooled sandbox becomes the function's
    # instance under its warm-RUNTIME-* container id, so count containers, not names).
    ok, _ = wait_pool(gw, 60.0)
    if not ok:
        errors.append("the warm pool was not full within 60 s")
    baseline = len(runc_list(state_root))
    if runsc_root is not None:
        baseline += len(runsc_list(runsc_root))
    hits0, misses0 = pool_counts(gw, runtime) if runtime else (0, 0)
    for i in range(int(runs)):
        name = "%s-%d" % (prefix, i + 1)
        t0 = time.perf_counter()
        status, body = gw.call("POST", "/system/functions", make_body(name))
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
                status, body = get(gw.port, call_path % name, timeout=60.0)
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
        # Let the teardown (and the pool's refill) finish before the next run.
        settled, _, missing = settle(gw, state_root, baseline, timeout=30.0, runsc_root=runsc_root)
        if not settled:
            errors.append("after %s: not settled within 30 s: %s" % (name, missing))
        time.sleep(0.1)
    res = summary(totals)
    res["post_ms"] = summary(posts)
    if runtime:
        hits1, misses1 = pool_counts(gw, runtime)
        res["pool_hits"], res["pool_misses"] = hits1 - hits0, misses1 - misses0
    res["errors"] = errors
    out(res)


def log_start_ms(logfile, offset, name):
    """The start_ms of the "instance ready" lines for exactly NAME after byte OFFSET of LOGFILE."""
    pattern = re.compile(r"swiftlet\.function=%s(\s|$)" % re.escape(name))
    values = []
    with open(logfile, "rb") as f:
        f.seek(offset)
        for raw in f:
            line = raw.decode(errors="replace")
            if "instance ready" in line and pattern.search(line):
                m = re.search(r"swiftlet\.start_ms=(\d+)", line)
                if m:
                    values.append(float(m.group(1)))
    return values


def scale_zero(gateway_url, data_dir, runtime, code_path, runs, name, logfile):
    """Scale from zero -> first answer: deploy NAME once (may scale to zero, idle time 1 h so the
    autoscaler stays out of the way), wait for its first 200; then RUNS times: scale to 0, wait
    until it has no replica, its container is gone and the warm pool is full again, then time
    one GET /function/NAME on a fresh connection until the first 200."""
    gw = Gateway(gateway_url, data_dir)
    state_root = "/run/swiftlet/%s/runc" % swiftlet_key(data_dir)
    errors, times, settle_ms = [], [], []
    ok, pools = wait_pool(gw, 60.0)
    if not ok:
        errors.append("the warm pool was not full within 60 s before the deploy: %s" % pools)
    baseline = len(runc_list(state_root))
    code = base64.b64encode(open(code_path, "rb").read()).decode()
    body = {"service": name, "runtime": runtime, "code": code,
            "labels": {"com.openfaas.scale.zero": "true", "com.openfaas.scale.zero-duration": "1h"}}
    status, resp = gw.call("POST", "/system/functions", body)
    res = {"pool": pools, "baseline_containers": baseline}
    if status not in (200, 201, 202):
        res.update(summary([]))
        res["errors"] = errors + ["deploy %s: HTTP %d %s" % (name, status, resp[:300])]
        out(res)
        return 1
    deploy_ms, errs, _ = first_200(gw.port, "/function/%s?name=bench" % name)
    errors += errs
    res["deploy_ms"] = deploy_ms
    offset = os.path.getsize(logfile)
    hits0, misses0 = pool_counts(gw, runtime)
    hit_runs = 0
    for i in range(int(runs)):
        status, resp = gw.call("POST", "/system/scale-function/%s" % name, {"serviceName": name, "replicas": 0})
        if status not in (200, 202):
            errors.append("run %d: scale to 0: HTTP %d %s" % (i + 1, status, resp[:300]))
            continue
        settled, waited, missing = settle(gw, state_root, baseline, name=name, timeout=30.0)
        settle_ms.append(waited)
        if not settled:
            errors.append("run %d: not settled within 30 s: %s" % (i + 1, missing))
        time.sleep(0.05)
        before = pool_counts(gw, runtime)[0]
        ms, errs, _ = first_200(gw.port, "/function/%s?name=bench" % name)
        errors += ["run %d: %s" % (i + 1, e) for e in errs]
        if ms is not None:
            times.append(ms)
        if pool_counts(gw, runtime)[0] > before:
            hit_runs += 1
    hits1, misses1 = pool_counts(gw, runtime)
    res.update(summary(times))
    res["start_ms"] = summary(log_start_ms(logfile, offset, name))
    res["settle_ms"] = summary(settle_ms)
    res["pool_hits"], res["pool_misses"], res["hit_runs"] = hits1 - hits0, misses1 - misses0, hit_runs
    status, resp = gw.call("DELETE", "/system/functions", {"functionName": name})
    if status != 200:
        errors.append("remove %s: HTTP %d %s" % (name, status, resp[:200]))
    settled, _, missing = settle(gw, state_root, baseline, timeout=30.0)
    if not settled:
        errors.append("after removing %s: not settled within 30 s: %s" % (name, missing))
    res["errors"] = errors
    out(res)
    return 0


# --------------------------------------------------------------------------
# Image functions: the image, its import, a runc bundle over the same rootfs
# --------------------------------------------------------------------------

def make_image(directory, reference):
    """A busybox-static httpd image, packed like `docker save` (manifest.json, config, layer)."""
    import gzip
    import hashlib
    import shutil
    import tarfile

    root = os.path.join(directory, "rootfs")
    for d in ("bin", "etc", "www/_", "tmp"):
        os.makedirs(os.path.join(root, d), exist_ok=True)
    shutil.copy2("/bin/busybox", os.path.join(root, "bin", "busybox"))
    os.chmod(os.path.join(root, "bin", "busybox"), 0o755)
    for tool in ("sh", "cat", "echo", "env", "id", "ls", "true", "httpd"):
        os.symlink("/bin/busybox", os.path.join(root, "bin", tool))
    with open(os.path.join(root, "etc", "passwd"), "w") as f:
        f.write("root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000:app:/www:/bin/sh\n")
    with open(os.path.join(root, "etc", "group"), "w") as f:
        f.write("root:x:0:\napp:x:1000:\n")
    with open(os.path.join(root, "www", "_", "health"), "w") as f:
        f.write("OK")
    with open(os.path.join(root, "www", "index.html"), "w") as f:
        f.write("hello from an image\n")
    for dirpath, dirnames, filenames in os.walk(root):
        for n in dirnames:
            os.chmod(os.path.join(dirpath, n), 0o755)
        for n in filenames:
            path = os.path.join(dirpath, n)
            # Never chmod through a symlink: bin/sh -> /bin/busybox would change the HOST's file.
            if n != "busybox" and not os.path.islink(path):
                os.chmod(path, 0o644)
    os.chmod(os.path.join(root, "tmp"), 0o1777)

    def owned_by_root(info):
        info.uid = info.gid = 0
        info.uname = info.gname = ""
        info.mtime = 0
        return info

    layer_tar = os.path.join(directory, "layer.tar")
    with tarfile.open(layer_tar, "w", format=tarfile.PAX_FORMAT) as tar:
        for entry in sorted(os.listdir(root)):
            tar.add(os.path.join(root, entry), arcname=entry, filter=owned_by_root)
    raw = open(layer_tar, "rb").read()
    diff_id = "sha256:" + hashlib.sha256(raw).hexdigest()
    layer_gz = gzip.compress(raw, mtime=0)
    config = {
        "architecture": "amd64", "os": "linux",
        "config": {
            "Cmd": ["/bin/busybox", "httpd", "-f", "-p", "8080", "-h", "/www"],
            "Env": ["PATH=/bin"],
            "WorkingDir": "/www",
            "User": "app",
            "ExposedPorts": {"8080/tcp": {}},
        },
        "rootfs": {"type": "layers", "diff_ids": [diff_id]},
    }
    config_bytes = json.dumps(config, sort_keys=True).encode()
    config_name = hashlib.sha256(config_bytes).hexdigest() + ".json"
    manifest = [{"Config": config_name, "RepoTags": [reference], "Layers": ["layer.tar.gz"]}]
    archive = os.path.join(directory, "image.tar")
    with tarfile.open(archive, "w") as tar:
        for name, data in (("manifest.json", json.dumps(manifest).encode()), (config_name, config_bytes),
                           ("layer.tar.gz", layer_gz)):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mode = 0o644
            tar.addfile(info, __import__("io").BytesIO(data))
    out({"archive": archive, "archive_bytes": os.path.getsize(archive), "layer_bytes": len(raw),
         "layer_gz_bytes": len(layer_gz), "diff_id": diff_id})


def import_image(gateway_url, data_dir, tarball):
    gw = Gateway(gateway_url, data_dir)
    data = open(tarball, "rb").read()
    t0 = time.perf_counter()
    status, body = gw.call("POST", "/system/images/import", raw=data, content_type="application/x-tar", timeout=120.0)
    t1 = time.perf_counter()
    res = summary([(t1 - t0) * 1000.0] if status == 201 else [])
    res["status"] = status
    res["body"] = body.decode(errors="replace")[:500]
    res["errors"] = [] if status == 201 else ["import: HTTP %d %s" % (status, body[:300])]
    out(res)
    return 0 if status == 201 else 1


def image_rootfs(data_dir):
    base = os.path.join(data_dir, "images", "rootfs")
    dirs = [d for d in sorted(os.listdir(base)) if re.fullmatch(r"[0-9a-f]{64}", d)] if os.path.isdir(base) else []
    if len(dirs) != 1:
        print("expected one unpacked rootfs under %s, found %s" % (base, dirs), file=sys.stderr)
        return 1
    print(os.path.join(base, dirs[0]))
    return 0


def make_image_bundle(directory, rootfs):
    """A bundle over ROOTFS (read-only, used as is: the image store's mount points exist in it)."""
    for d in ("proc", "dev", "tmp"):
        if not os.path.isdir(os.path.join(rootfs, d)):
            print("%s has no /%s (start an instance of the image first)" % (rootfs, d), file=sys.stderr)
            return 1
    os.makedirs(directory, exist_ok=True)
    config = {
        "ociVersion": "1.0.2",
        "process": {
            "terminal": False,
            "user": {"uid": 1000, "gid": 1000},
            "args": ["/bin/busybox", "httpd", "-f", "-p", "8080", "-h", "/www"],
            "env": ["PATH=/bin", "HOME=/www"],
            "cwd": "/www",
            "capabilities": {"bounding": [], "effective": [], "permitted": [], "ambient": []},
            "noNewPrivileges": True,
        },
        "root": {"path": os.path.abspath(rootfs), "readonly": True},
        "hostname": "bench",
        "mounts": [
            {"destination": "/proc", "type": "proc", "source": "proc", "options": ["nosuid", "noexec", "nodev"]},
            {"destination": "/dev", "type": "tmpfs", "source": "tmpfs",
             "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]},
            {"destination": "/tmp", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "nodev", "mode=1777"]},
        ],
        "linux": {
            "namespaces": [{"type": t} for t in ("pid", "ipc", "uts", "mount", "network")],
            "maskedPaths": ["/proc/kcore", "/proc/keys", "/proc/timer_list", "/sys/firmware"],
            "readonlyPaths": ["/proc/sys", "/proc/sysrq-trigger"],
        },
    }
    with open(os.path.join(directory, "config.json"), "w") as f:
        json.dump(config, f, indent=1)
    return 0


CLONE_NEWNET = 0x40000000
SIOCGIFFLAGS, SIOCSIFFLAGS, IFF_UP = 0x8913, 0x8914, 0x1


def _setns(fd):
    import ctypes
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.setns(fd, CLONE_NEWNET) != 0:
        raise OSError(ctypes.get_errno(), "setns")


def _loopback_up():
    import fcntl
    import struct
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        ifr = fcntl.ioctl(s, SIOCGIFFLAGS, struct.pack("16sh22x", b"lo", 0))
        flags = struct.unpack("16sh", ifr[:18])[1]
        fcntl.ioctl(s, SIOCSIFFLAGS, struct.pack("16sh22x", b"lo", flags | IFF_UP))


def cold_runc_httpd(runc, state, bundle, runs, mode, port, path):
    """Start busybox httpd in BUNDLE, bring up the loopback of its netns (the main thread
    enters it with setns), poll GET PATH every 1 ms until 200; then back to the host netns."""
    host_ns = os.open("/proc/self/ns/net", os.O_RDONLY)
    times, errors = [], []
    port = int(port)
    for i in range(int(runs)):
        cid = "swiftlet-bench-httpd-%d-%d" % (os.getpid(), i)
        # Not in the runc state root: runc would take files there for containers.
        pidfile = os.path.join(bundle, cid + ".pid")
        errfile = open(os.path.join(bundle, cid + ".err"), "w+")
        ok = False
        t0 = time.perf_counter()
        try:
            # Output to a file, not a pipe: the detached container keeps its stdio open.
            first = "run" if mode == "run" else "create"
            cmd = [runc, "--root", state, first] + (["-d"] if mode == "run" else []) + \
                ["--pid-file", pidfile, "--bundle", bundle, cid]
            p = subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=errfile, stderr=errfile)
            if p.returncode != 0:
                errfile.seek(0)
                raise RuntimeError("runc %s %s: exit %d: %s" % (first, cid, p.returncode, errfile.read()[-300:]))
            pid = int(open(pidfile).read().strip())
            ns = os.open("/proc/%d/ns/net" % pid, os.O_RDONLY)
            try:
                _setns(ns)
                _loopback_up()
            finally:
                os.close(ns)
                _setns(host_ns)
            if mode != "run":
                p = subprocess.run([runc, "--root", state, "start", cid], stdin=subprocess.DEVNULL,
                                   stdout=errfile, stderr=errfile)
                if p.returncode != 0:
                    errfile.seek(0)
                    raise RuntimeError("runc start %s: exit %d: %s" % (cid, p.returncode, errfile.read()[-300:]))
            ns = os.open("/proc/%d/ns/net" % pid, os.O_RDONLY)
            try:
                _setns(ns)
                while time.perf_counter() - t0 < 30.0:
                    try:
                        status, _ = get(port, path, timeout=5.0)
                        if status == 200:
                            ok = True
                            break
                    except OSError:
                        pass
                    time.sleep(0.001)
            finally:
                os.close(ns)
                _setns(host_ns)
            t1 = time.perf_counter()
            if ok:
                times.append((t1 - t0) * 1000.0)
            else:
                errors.append("%s: no 200 on :%d%s within 30 s" % (cid, port, path))
        except Exception as e:
            errors.append(str(e))
        finally:
            errfile.close()
            subprocess.run([runc, "--root", state, "delete", "-f", cid], capture_output=True)
            for f in (pidfile, errfile.name):
                try:
                    os.unlink(f)
                except OSError:
                    pass
        time.sleep(0.1)
    os.close(host_ns)
    res = summary(times)
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


def make_busybox_bundle(directory):
    """A bundle whose read-only rootfs holds only busybox-static's /bin/busybox (and the mount
    points), the same namespaces as make_bundle: the target reference `runc run` busybox echo."""
    import shutil
    rootfs = os.path.join(directory, "rootfs")
    for d in ("bin", "proc", "dev", "tmp"):
        os.makedirs(os.path.join(rootfs, d), exist_ok=True)
    os.chmod(os.path.join(rootfs, "tmp"), 0o1777)
    # A copy (never a chmod of the host's file), executable here.
    shutil.copyfile("/bin/busybox", os.path.join(rootfs, "bin", "busybox"))
    os.chmod(os.path.join(rootfs, "bin", "busybox"), 0o755)
    config = {
        "ociVersion": "1.0.2",
        "process": {
            "terminal": False,
            "user": {"uid": 10001, "gid": 10001},
            "args": ["/bin/busybox", "echo", "hello"],
            "env": ["PATH=/bin", "HOME=/tmp"],
            "cwd": "/tmp",
            "capabilities": {"bounding": [], "effective": [], "permitted": [], "ambient": []},
            "noNewPrivileges": True,
        },
        "root": {"path": "rootfs", "readonly": True},
        "hostname": "bench",
        "mounts": [
            {"destination": "/proc", "type": "proc", "source": "proc", "options": ["nosuid", "noexec", "nodev"]},
            {"destination": "/dev", "type": "tmpfs", "source": "tmpfs",
             "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]},
            {"destination": "/tmp", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "nodev", "mode=1777"]},
        ],
        "linux": {
            "namespaces": [{"type": t} for t in ("pid", "ipc", "uts", "mount", "network")],
            "maskedPaths": ["/proc/kcore", "/proc/keys", "/proc/timer_list", "/sys/firmware"],
            "readonlyPaths": ["/proc/sys", "/proc/sysrq-trigger"],
        },
    }
    with open(os.path.join(directory, "config.json"), "w") as f:
        json.dump(config, f, indent=1)


def cold_docker(runs, prefix, image, args):
    """`docker run --rm IMAGE ARGS...` wall time, RUNS times (the image pulled first, untimed);
    the containers are named PREFIX<i> so that the caller can remove leftovers."""
    times, errors = [], []
    if subprocess.run(["docker", "image", "inspect", image], capture_output=True).returncode != 0:
        p = subprocess.run(["docker", "pull", "-q", image], capture_output=True, text=True)
        if p.returncode != 0:
            res = summary([])
            res["errors"] = ["docker pull %s: exit %d: %s" % (image, p.returncode, p.stderr[-300:])]
            out(res)
            return
    for i in range(int(runs)):
        name = "%s%d" % (prefix, i)
        t0 = time.perf_counter()
        p = subprocess.run(["docker", "run", "--rm", "--name", name, image] + args,
                           stdin=subprocess.DEVNULL, capture_output=True)
        t1 = time.perf_counter()
        if p.returncode == 0:
            times.append((t1 - t0) * 1000.0)
        else:
            errors.append("docker run %s: exit %d: %s" % (name, p.returncode, p.stderr.decode()[-300:]))
            subprocess.run(["docker", "rm", "-f", name], capture_output=True)
        time.sleep(0.1)
    res = summary(times)
    res["errors"] = errors
    out(res)


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
# Async calls: a load client, the queue counts, a loopback callback receiver
# --------------------------------------------------------------------------

ASYNC_STATUSES = ("queued", "running", "succeeded", "failed", "dead")


async def _read_response(reader):
    """One HTTP/1.1 answer from READER: (status, headers as a lower-case dict, body, must close)."""
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head[:-4].split(b"\r\n")
    status = int(lines[0].split()[1])
    headers = {}
    for line in lines[1:]:
        key, _, value = line.partition(b":")
        headers[key.strip().lower().decode("latin-1")] = value.strip().decode("latin-1")
    close = headers.get("connection", "").lower() == "close"
    if "chunked" in headers.get("transfer-encoding", "").lower():
        parts = []
        while True:
            size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
            if size == 0:
                while await reader.readuntil(b"\r\n") != b"\r\n":  # trailers
                    pass
                break
            parts.append((await reader.readexactly(size + 2))[:-2])
        body = b"".join(parts)
    elif "content-length" in headers:
        body = await reader.readexactly(int(headers["content-length"]))
    else:
        body, close = await reader.read(), True
    return status, headers, body, close


def _request_bytes(method, path, port, headers=None, body=b""):
    lines = ["%s %s HTTP/1.1" % (method, path), "Host: 127.0.0.1:%d" % port, "User-Agent: swiftlet-bench"]
    for key, value in (headers or {}).items():
        lines.append("%s: %s" % (key, value))
    if body or method in ("POST", "PUT", "PATCH"):
        lines.append("Content-Length: %d" % len(body))
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def _counts_path(function):
    return "/system/async?function=%s&limit=0" % function


def _counts(answer):
    """The "counts" of a GET /system/async answer, every status present (0 when missing)."""
    if answer is None:
        return None
    counts = answer.get("counts") or {}
    return {k: int(counts.get(k, 0)) for k in ASYNC_STATUSES}


def _load(port, request, n, connections, expect, poll=None):
    """Sends REQUEST (bytes) N times over CONNECTIONS keep-alive connections, each as soon as
    the previous answer arrived (never resent: a failed POST /async-function may still have been
    queued). POLL, if given, is a coroutine function run beside the load with the shared state
    ("done" and "ok", the answers with status EXPECT, are set when the load is over).
    Returns the figures, timed from the first request sent to the last answer."""
    import asyncio
    import collections
    statuses = collections.Counter()
    errors = []
    left = [int(n)]
    shared = {"first": None, "last": None, "done": False, "ok": None}

    async def connection():
        reader = writer = None
        while left[0] > 0:
            left[0] -= 1
            try:
                if writer is None:
                    reader, writer = await asyncio.open_connection("127.0.0.1", port)
                if shared["first"] is None:
                    shared["first"] = time.perf_counter()
                writer.write(request)
                status, _, body, close = await asyncio.wait_for(_read_response(reader), 30.0)
                shared["last"] = time.perf_counter()
                statuses[status] += 1
                if status != expect and len(errors) < 20:
                    errors.append("HTTP %d (expected %d): %s" % (status, expect, body[:200]))
                if close:
                    writer.close()
                    writer = None
            except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, asyncio.TimeoutError,
                    ValueError, IndexError) as e:
                statuses["error"] += 1
                if len(errors) < 20:
                    errors.append("request failed: %r" % e)
                if writer is not None:
                    writer.close()
                writer = None
        if writer is not None:
            writer.close()

    async def main():
        tasks = [asyncio.ensure_future(connection()) for _ in range(int(connections))]
        poller = asyncio.ensure_future(poll(shared)) if poll else None
        await asyncio.gather(*tasks)
        shared["ok"], shared["done"] = statuses.get(expect, 0), True
        if poller:
            await poller

    asyncio.run(main())
    seconds = (shared["last"] - shared["first"]) if shared["first"] and shared["last"] else None
    ok = statuses.get(expect, 0)
    return {"n": int(n), "ok": ok, "statuses": {str(k): v for k, v in statuses.items()}, "errors": errors,
            "first": shared["first"], "last": shared["last"], "seconds": seconds,
            "rate": ok / seconds if seconds else None}


def _wait_idle(gw, function, timeout):
    """Waits until FUNCTION has no queued or running async call: (idle, counts when the wait
    began, counts at the end, seconds waited)."""
    t0 = time.perf_counter()
    first = last = None
    while True:
        last = _counts(get_json(gw, _counts_path(function)))
        if first is None:
            first = last
        if last is not None and last["queued"] + last["running"] == 0:
            return True, first, last, time.perf_counter() - t0
        if time.perf_counter() - t0 > float(timeout):
            return False, first, last, time.perf_counter() - t0
        time.sleep(0.05)


def async_wait_idle(gateway_url, data_dir, function, timeout):
    """Prints (JSON) how long FUNCTION's queue took to drain, with the calls pending at the start."""
    idle, first, last, seconds = _wait_idle(Gateway(gateway_url, data_dir), function, timeout)
    pending = None if first is None else first["queued"] + first["running"]
    res = {"seconds": seconds, "pending_at_start": pending, "counts_before": first, "counts": last, "errors": []}
    if not idle:
        res["errors"].append("async calls of %s still queued or running %.0f s later: %s (when the wait began: %s)"
                             % (function, float(timeout), last, first))
    out(res)
    return 0 if idle else 1


def async_complete(gateway_url, data_dir, function, calls, connections, timeout):
    """Completed calls/s: waits until FUNCTION's queue is idle, then sends CALLS POST
    /async-function/FUNCTION over CONNECTIONS keep-alive connections as fast as they are
    acknowledged, while a poller reads the counts (GET /system/async, every 50 ms) until every
    acknowledged call has finished. Rate = 202s / (first POST sent → all finished)."""
    import asyncio
    gw = Gateway(gateway_url, data_dir)
    timeout = float(timeout)
    errors = []
    idle, _, before, _ = _wait_idle(gw, function, timeout)
    if not idle:
        errors.append("the queue of %s was not idle within %.0f s before the run: %s" % (function, timeout, before))
    if before is None:
        out({"errors": errors + ["cannot read GET %s" % _counts_path(function)]})
        return 1
    poll_request = _request_bytes("GET", _counts_path(function), gw.port, {"Authorization": gw.auth})
    seen = {"done_at": None, "counts": before, "max_queued": 0, "polls": 0, "poll_errors": 0}
    deadline = time.perf_counter() + timeout

    async def poll(shared):
        reader = writer = None
        while time.perf_counter() < deadline:
            try:
                if writer is None:
                    reader, writer = await asyncio.open_connection("127.0.0.1", gw.port)
                writer.write(poll_request)
                status, _, body, close = await asyncio.wait_for(_read_response(reader), 10.0)
                now = time.perf_counter()
                if close:
                    writer.close()
                    writer = None
                if status != 200:
                    seen["poll_errors"] += 1
                else:
                    counts = _counts(json.loads(body))
                    seen["counts"], seen["polls"] = counts, seen["polls"] + 1
                    seen["max_queued"] = max(seen["max_queued"], counts["queued"])
                    finished = sum(counts[k] - before[k] for k in ("succeeded", "failed", "dead"))
                    if shared["done"] and finished >= shared["ok"] and counts["queued"] + counts["running"] == 0:
                        seen["done_at"] = now
                        break
            except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, asyncio.TimeoutError, ValueError):
                seen["poll_errors"] += 1
                if writer is not None:
                    writer.close()
                writer = None
            await asyncio.sleep(0.05)
        if writer is not None:
            writer.close()

    request = _request_bytes("POST", "/async-function/%s" % function, gw.port, {"Content-Type": "text/plain"}, b"bench")
    load = _load(gw.port, request, calls, connections, 202, poll)
    errors += load["errors"]
    after = seen["counts"]
    res = {"calls": int(calls), "connections": int(connections), "accepted": load["ok"], "statuses": load["statuses"],
           "counts_before": before, "counts_after": after, "max_queued": seen["max_queued"], "polls": seen["polls"],
           "poll_errors": seen["poll_errors"],
           "enqueue": {"n": load["ok"], "seconds": load["seconds"], "rate": load["rate"]}}
    delta = {k: after[k] - before[k] for k in ("succeeded", "failed", "dead")}
    res["finished"] = delta
    if seen["done_at"] is not None and load["first"] is not None:
        total = seen["done_at"] - load["first"]
        res["total"] = {"n": load["ok"], "seconds": total, "rate": load["ok"] / total if total > 0 else None}
        res["drain"] = {"n": load["ok"], "seconds": seen["done_at"] - load["last"]}
    else:
        errors.append("STALL: not every acknowledged call finished within %.0f s: %d acknowledged, counts before %s, "
                      "last seen %s" % (timeout, load["ok"], before, after))
    if delta["failed"] or delta["dead"]:
        errors.append("%d failed and %d dead calls among the %d acknowledged" % (delta["failed"], delta["dead"], load["ok"]))
    if seen["done_at"] is not None and sum(delta.values()) != load["ok"]:
        errors.append("%d calls finished for %d acknowledged" % (sum(delta.values()), load["ok"]))
    res["errors"] = errors
    out(res)
    return 0 if "total" in res else 1


def sync_batch(gateway_url, function, calls, connections):
    """The sync counterpart of async_complete: CALLS POST /function/FUNCTION by the same client
    over CONNECTIONS keep-alive connections; rate = 200s / (first request → last answer)."""
    port = int(re.match(r"http://[^:/]+:(\d+)", gateway_url).group(1))
    request = _request_bytes("POST", "/function/%s" % function, port, {"Content-Type": "text/plain"}, b"bench")
    load = _load(port, request, calls, connections, 200)
    res = {"calls": int(calls), "connections": int(connections), "statuses": load["statuses"], "errors": load["errors"],
           "total": {"n": load["ok"], "seconds": load["seconds"], "rate": load["rate"]}}
    out(res)


class CallbackReceiver:
    """A loopback HTTP/1.1 server (keep-alive) that records when each callback arrived, by X-Call-Id."""

    def __init__(self):
        import http.server
        import threading
        self.cond = threading.Condition()
        self.arrivals = {}  # call id -> [(perf_counter, X-Function-Status, body)]
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self):
                if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
                    parts = []
                    while True:
                        size = int(self.rfile.readline().split(b";")[0], 16)
                        if size == 0:
                            while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                                pass
                            break
                        parts.append(self.rfile.read(size + 2)[:-2])
                    body = b"".join(parts)
                else:
                    body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                now = time.perf_counter()
                with receiver.cond:
                    receiver.arrivals.setdefault(self.headers.get("X-Call-Id"), []).append(
                        (now, self.headers.get("X-Function-Status"), body))
                    receiver.cond.notify_all()
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = "http://127.0.0.1:%d/callback" % self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def wait(self, call_id, timeout):
        """The first arrival for CALL_ID, waiting up to TIMEOUT seconds (None if none came)."""
        with self.cond:
            self.cond.wait_for(lambda: call_id in self.arrivals, timeout)
            got = self.arrivals.get(call_id)
            return got[0] if got else None

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def async_e2e(gateway_url, data_dir, function, runs, timeout):
    """End-to-end latency of single async calls: RUNS times, one at a time, POST
    /async-function/FUNCTION with an X-Callback-Url of a loopback receiver, timed from the send
    until the callback arrived (and until the 202); interleaved with the same POST to
    /function/FUNCTION (sync, timed until its 200). Both on one keep-alive connection each.
    TIMEOUT bounds the wait for an idle queue first; each callback is awaited 30 s at most, and
    the run stops after 3 missing callbacks."""
    gw = Gateway(gateway_url, data_dir)
    runs, timeout = int(runs), float(timeout)
    errors = []
    missing = 0
    idle, _, before, _ = _wait_idle(gw, function, timeout)
    if not idle:
        errors.append("the queue of %s was not idle within %.0f s before the run: %s" % (function, timeout, before))
    receiver = CallbackReceiver()
    async_conn = http.client.HTTPConnection("127.0.0.1", gw.port, timeout=30)
    sync_conn = http.client.HTTPConnection("127.0.0.1", gw.port, timeout=30)
    prefix = "bench-e2e-%d-%d" % (os.getpid(), int(time.time()))
    e2e, acks, syncs, accepted = [], [], [], 0
    headers = {"Content-Type": "text/plain", "User-Agent": "swiftlet-bench"}
    warmup = 3
    try:
        for i in range(warmup + runs):
            measured = i >= warmup
            call_id = "%s-%d" % (prefix, i)
            try:
                t0 = time.perf_counter()
                async_conn.request("POST", "/async-function/%s" % function, body=b"bench",
                                   headers=dict(headers, **{"X-Callback-Url": receiver.url, "X-Call-Id": call_id}))
                resp = async_conn.getresponse()
                body = resp.read()
                t_ack = time.perf_counter()
            except (OSError, http.client.HTTPException) as e:
                errors.append("async call %d: request failed: %r" % (i, e))
                async_conn.close()
                continue
            if resp.status != 202:
                errors.append("async call %d: HTTP %d %s" % (i, resp.status, body[:200]))
            else:
                accepted += 1
                if resp.getheader("X-Call-Id") != call_id:
                    errors.append("async call %d: X-Call-Id %r, sent %r" % (i, resp.getheader("X-Call-Id"), call_id))
                arrival = receiver.wait(call_id, 30.0)
                if arrival is None:
                    errors.append("async call %s: no callback within 30 s" % call_id)
                    missing += 1
                    if missing >= 3:
                        errors.append("gave up after 3 missing callbacks")
                        break
                else:
                    t_cb, status, cb_body = arrival
                    if status != "200" or b"Hello, bench!" not in cb_body:
                        errors.append("async call %s: callback with X-Function-Status %s, body %s" % (call_id, status, cb_body[:200]))
                    elif measured:
                        e2e.append((t_cb - t0) * 1000.0)
                        acks.append((t_ack - t0) * 1000.0)
            try:
                t0 = time.perf_counter()
                sync_conn.request("POST", "/function/%s" % function, body=b"bench", headers=headers)
                resp = sync_conn.getresponse()
                body = resp.read()
                t1 = time.perf_counter()
            except (OSError, http.client.HTTPException) as e:
                errors.append("sync call %d: request failed: %r" % (i, e))
                sync_conn.close()
                continue
            if resp.status != 200:
                errors.append("sync call %d: HTTP %d %s" % (i, resp.status, body[:200]))
            elif measured:
                syncs.append((t1 - t0) * 1000.0)
        time.sleep(0.5)  # a duplicate callback would come now
        with receiver.cond:
            dups = {k: len(v) for k, v in receiver.arrivals.items() if len(v) > 1}
            strays = [k for k in receiver.arrivals if not (k or "").startswith(prefix)]
        if dups:
            errors.append("%d calls got more than one callback: %s" % (len(dups), sorted(dups.items())[:5]))
        if strays:
            errors.append("callbacks for unknown call ids: %s" % strays[:5])
    finally:
        async_conn.close()
        sync_conn.close()
        receiver.close()
    res = summary(e2e)
    res.update({"ack": summary(acks), "sync": summary(syncs), "accepted": accepted, "warmup": warmup, "errors": errors})
    out(res)
    return 0


def async_audit(gateway_url, data_dir, function, slack, timeout, files):
    """Every 202 must end as a succeeded call: sums the 202s the results FILES recorded (wrk
    "statuses", or "accepted"), waits until FUNCTION's queue is idle and compares with the
    store's counts. A wrk run stopped with requests in flight may have queued up to SLACK calls
    it never saw acknowledged."""
    acked = 0
    for path in files:
        r = json.load(open(path))
        if "statuses" in r and "accepted" not in r:
            acked += int(r["statuses"].get("202", 0))
        else:
            acked += int(r.get("accepted", 0))
    idle, _, counts, _ = _wait_idle(Gateway(gateway_url, data_dir), function, timeout)
    res = {"acknowledged": acked, "slack": int(slack), "counts": counts, "errors": []}
    if counts is None:
        res["errors"].append("cannot read GET %s" % _counts_path(function))
        out(res)
        return 1
    stored = sum(counts.values())
    res["stored"] = stored
    if not idle:
        res["errors"].append("STALL: %d queued and %d running %.0f s after the last call" % (counts["queued"], counts["running"], float(timeout)))
    if stored < acked:
        res["errors"].append("LOST: %d calls acknowledged with 202, only %d in the store" % (acked, stored))
    if stored > acked + int(slack):
        res["errors"].append("%d calls in the store for %d acknowledged (+ at most %d in flight when wrk stopped)" % (stored, acked, int(slack)))
    if counts["failed"] or counts["dead"]:
        res["errors"].append("%d failed and %d dead calls" % (counts["failed"], counts["dead"]))
    out(res)
    return 0 if not res["errors"] else 1


def fmt_async(path, what):
    """One async figure: rate (KEY total|enqueue: "X calls/s (N in T s)"), drain ("N calls in T s"),
    audit ("A acknowledged / S stored / succeeded / failed / dead")."""
    r = json.load(open(path))
    if what in ("total", "enqueue"):
        t = r.get(what) or {}
        if not t.get("rate"):
            print("FAILED (%d errors)" % len(r.get("errors", [])))
            return
        text = "%.0f calls/s (%d in %.2f s)" % (t["rate"], t["n"], t["seconds"])
    elif what == "drain":
        if "drain" in r:
            text = "%.2f s" % r["drain"]["seconds"]
        elif r.get("pending_at_start") is not None:
            text = "%d calls left, done in %.2f s" % (r["pending_at_start"], r["seconds"])
        else:
            text = "n/a"
    elif what == "audit":
        c = r.get("counts") or {}
        text = "%s acknowledged, %s stored: %s succeeded, %s failed, %s dead, %s queued/running" % (
            r.get("acknowledged", "?"), r.get("stored", "?"), c.get("succeeded", "?"), c.get("failed", "?"),
            c.get("dead", "?"), (c.get("queued", 0) + c.get("running", 0)) if c else "?")
    else:
        text = "?"
    if r.get("errors") and what != "audit":
        text += " [%d errors]" % len(r["errors"])
    print(text)


# --------------------------------------------------------------------------
# wrk output, Swiftlet's log, the table
# --------------------------------------------------------------------------

def to_ms(text):
    m = re.match(r"([\d.]+)(us|ms|s|m)$", text)
    if not m:
        return None
    value, unit = float(m.group(1)), m.group(2)
    return value * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}[unit]


def wrk_parse(path, expect=None):
    text = open(path).read()
    res = {"p50": None, "p90": None, "p99": None, "rps": None, "requests": None,
           "non2xx": 0, "socket_errors": 0, "raw_tail": text[-400:]}
    # The answers by status that scripts/bench/post.lua prints ("bench-status CODE COUNT").
    statuses = {m.group(1): int(m.group(2)) for m in re.finditer(r"^bench-status (\d+) (\d+)$", text, re.M)}
    if statuses:
        res["statuses"] = statuses
    if expect is not None:
        res["errors"] = ["%d answers with HTTP %s (expected %s)" % (n, code, expect)
                         for code, n in sorted(statuses.items()) if code != str(expect)]
        if not statuses:
            res["errors"].append("no answer counts in the wrk output (expected HTTP %s)" % expect)
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


def function_status(gateway_url, data_dir, name):
    st = get_json(Gateway(gateway_url, data_dir), "/system/function/%s" % name)
    if st is None:
        print("? ?")
        return 1
    print("%s %s" % (st.get("replicas"), st.get("availableReplicas")))
    return 0


def wait_replicas(gateway_url, data_dir, name, timeout, stable=2.5):
    """Waits until NAME has all its replicas available and that stayed so (same count) for
    STABLE seconds: the autoscaler (1 s ticks) may still scale up on the load of the last
    second after a load run ends."""
    gw = Gateway(gateway_url, data_dir)
    deadline = time.perf_counter() + float(timeout)
    st = None
    since, count = None, None
    while time.perf_counter() < deadline:
        st = get_json(gw, "/system/function/%s" % name)
        now = time.perf_counter()
        if st is not None and st.get("availableReplicas", 0) >= st.get("replicas", 1):
            if since is None or st.get("replicas") != count:
                since, count = now, st.get("replicas")
            elif now - since >= stable:
                return 0
        else:
            since = None
        time.sleep(0.1)
    print("%s did not reach its replicas within %s s: %s" % (name, timeout, st), file=sys.stderr)
    return 1


def instance_pid_of(state_root, name, runtime):
    """An instance of code function NAME: its own container NAME-*, or (warm pool) a
    warm-RUNTIME-* container whose function slot has code bound in (a pooled, unspecialised
    sandbox has an empty one). The oldest running one if several match."""
    found = []
    for cid in runc_list(state_root):
        if not (cid.startswith(name + "-") or cid.startswith("warm-%s-" % runtime)):
            continue
        p = subprocess.run(["/usr/bin/runc", "--root", state_root, "state", cid], capture_output=True, text=True)
        try:
            state = json.loads(p.stdout)
        except ValueError:
            continue
        if state.get("status") != "running":
            continue
        if cid.startswith("warm-"):
            slot = os.path.join(state.get("bundle", ""), "hub", "function")
            try:
                if not os.listdir(slot):
                    continue
            except OSError:
                continue
        found.append((state.get("created", ""), state["pid"], cid))
    if not found:
        print("no running instance of %s under %s" % (name, state_root), file=sys.stderr)
        return 1
    found.sort()
    if len(found) > 1:
        print("%d candidate instances of %s (%s): using %s" % (len(found), name, ", ".join(f[2] for f in found), found[0][2]),
              file=sys.stderr)
    print(found[0][1])
    return 0


def fmt_field(path, keys):
    """The values of KEYS in a JSON result, joined by " / " ("?" when missing)."""
    r = json.load(open(path))
    print(" / ".join("?" if r.get(k) is None else str(r.get(k)) for k in keys))


def fmt_pct(path, key=None):
    r = json.load(open(path))
    if key:
        r = r.get(key) or {}
    if not r.get("n"):
        print("FAILED (%d errors)" % len(r.get("errors", [])))
        return
    text = "p50 %s ms, p99 %s ms" % (fmt_ms(r["p50"]), fmt_ms(r["p99"]))
    if r.get("errors"):
        text += " [%d errors]" % len(r["errors"])
    print(text)


def targets(runc_path, pool_path, nopool_path, label):
    """The scale-from-zero targets, each with its figures and ratio:
    pool p50 < runc p50; pool p99 < 2 × runc p50; no-pool p50 < runc p50 + 25 ms."""
    ref = json.load(open(runc_path))
    pool = json.load(open(pool_path))
    nopool = json.load(open(nopool_path))
    r50 = ref.get("p50")
    if not r50:
        print("%s: no runc run reference, no comparison" % label)
        return

    def verdict(ok):
        return "met" if ok else "NOT met"

    p50, p99, n50 = pool.get("p50"), pool.get("p99"), nopool.get("p50")
    if p50 is not None:
        print("%s, warm pool p50 %s ms < runc run p50 %s ms: ratio %.2f → %s"
              % (label, fmt_ms(p50), fmt_ms(r50), p50 / r50, verdict(p50 < r50)))
    else:
        print("%s, warm pool: no measurement" % label)
    if p99 is not None:
        print("%s, warm pool p99 %s ms < 2 × runc run p50 = %s ms: p99 / runc p50 = %.2f (target < 2) → %s"
              % (label, fmt_ms(p99), fmt_ms(2 * r50), p99 / r50, verdict(p99 < 2 * r50)))
    if n50 is not None:
        print("%s, no pool p50 %s ms < runc run p50 + 25 ms = %s ms: ratio %.2f, %+.1f ms against the bound → %s"
              % (label, fmt_ms(n50), fmt_ms(r50 + 25), n50 / r50, n50 - (r50 + 25), verdict(n50 < r50 + 25)))
    else:
        print("%s, no pool: no measurement" % label)


# --------------------------------------------------------------------------
# Isolation tiers (scripts/bench-isolation.sh): idle memory, ratios, a table of any columns
# --------------------------------------------------------------------------

def _proc_kb(pid, filename, field):
    """FIELD (in kB) from /proc/PID/FILENAME ("VmRSS" in status, "Pss" in smaps_rollup), or None."""
    try:
        for line in open("/proc/%d/%s" % (pid, filename)):
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


def _argv0(pid):
    try:
        raw = open("/proc/%d/cmdline" % pid, "rb").read()
    except OSError:
        return None, b""
    return os.path.basename(raw.split(b"\0")[0].decode(errors="replace")), raw


def _oci_state(binary, root, cid):
    p = subprocess.run([binary, "--root", root, "state", cid], capture_output=True, text=True)
    try:
        return json.loads(p.stdout)
    except ValueError:
        return {}


def instance_memory(data_dir, name):
    """The idle memory of the (oldest) running instance NAME-* of a Swiftlet whose data directory is
    DATA_DIR, runc or runsc: the cgroup v1 memory usage of its cgroup and the PSS / RSS summed over its
    host processes (runc: the cgroup's cgroup.procs; runsc: every process whose command line holds the
    instance id: the sandbox (sentry) and the gofer, plus the processes of its cgroup and their
    descendants: the ptrace stubs that run the application)."""
    key = swiftlet_key(data_dir)
    run = "/run/swiftlet/%s" % key
    found = []
    for tier, binary, root, lister in (("standard", "/usr/bin/runc", run + "/runc", runc_list),
                                       ("hardened", "/usr/bin/runsc", run + "/runsc", runsc_list)):
        for cid in lister(root):
            if not cid.startswith(name + "-"):
                continue
            state = _oci_state(binary, root, cid)
            if state.get("status") == "running":
                found.append((state.get("created", ""), tier, cid, state.get("pid")))
    if not found:
        out({"errors": ["no running instance %s-* under %s" % (name, run)]})
        return 1
    found.sort()
    _, tier, cid, pid = found[0]
    res = {"tier": tier, "id": cid, "pid": pid, "errors": []}
    cgroup = "/sys/fs/cgroup/memory/swiftlet/%s/%s" % (key, cid)
    if not os.path.isdir(cgroup):
        # Not where the spec put it: look for the id anywhere under the memory hierarchy.
        for dirpath, dirnames, _ in os.walk("/sys/fs/cgroup/memory"):
            if cid in dirnames:
                cgroup = os.path.join(dirpath, cid)
                break
    res["cgroup"] = cgroup
    try:
        res["cgroup_bytes"] = int(open(os.path.join(cgroup, "memory.usage_in_bytes")).read())
        stat = dict(l.split() for l in open(os.path.join(cgroup, "memory.stat")))
        res["cgroup_stat"] = {k: int(stat[k]) for k in ("total_rss", "total_cache", "total_mapped_file", "total_shmem")
                              if k in stat}
        cgroup_procs = [int(x) for x in open(os.path.join(cgroup, "cgroup.procs")).read().split()]
    except (OSError, ValueError) as e:
        res["errors"].append("cgroup %s: %s" % (cgroup, e))
        cgroup_procs = []
    res["cgroup_procs"] = cgroup_procs
    if tier == "standard":
        pids = cgroup_procs
    else:
        # The sandbox and the gofer carry the id on their command line; the ptrace stubs that run
        # the application (children of the sandbox, empty command line) are in the cgroup.
        me, pids, parents = os.getpid(), set(cgroup_procs), {}
        needle = cid.encode()
        for entry in os.listdir("/proc"):
            if entry.isdigit() and int(entry) != me:
                _, raw = _argv0(int(entry))
                if needle in raw:
                    pids.add(int(entry))
                try:
                    parents[int(entry)] = int(open("/proc/%s/stat" % entry).read().rsplit(")", 1)[1].split()[1])
                except (OSError, ValueError, IndexError):
                    pass
        grown = True
        while grown:  # and their descendants
            more = {c for c, parent in parents.items() if parent in pids} - pids
            pids |= more
            grown = bool(more)
    procs = []
    for p in sorted(pids):
        argv0, _ = _argv0(p)
        if not argv0:
            argv0 = "stub"  # a process with an empty command line (gVisor's ptrace stubs)
        procs.append({"pid": p, "argv0": argv0, "in_cgroup": p in cgroup_procs,
                      "rss_kb": _proc_kb(p, "status", "VmRSS"), "pss_kb": _proc_kb(p, "smaps_rollup", "Pss")})
    res["processes"] = procs
    res["rss_kb"] = sum(x["rss_kb"] or 0 for x in procs)
    res["pss_kb"] = sum(x["pss_kb"] or 0 for x in procs)
    by_kind = {}
    for x in procs:
        k = by_kind.setdefault(x["argv0"], {"count": 0, "rss_kb": 0, "pss_kb": 0})
        k["count"] += 1
        k["rss_kb"] += x["rss_kb"] or 0
        k["pss_kb"] += x["pss_kb"] or 0
    res["by_kind"] = by_kind
    out(res)
    return 0


def _mib(kb):
    return "%.1f MiB" % (kb / 1024.0)


def fmt_mem(path, field):
    r = json.load(open(path))
    if field == "cgroup":
        v = r.get("cgroup_bytes")
        print("n/a" if v is None else _mib(v / 1024.0))
    elif field in ("pss", "rss"):
        if not r.get("processes"):
            print("n/a")
            return
        kinds = ", ".join("%d %s" % (k["count"], name) for name, k in sorted(r.get("by_kind", {}).items()))
        print("%s (%s)" % (_mib(r[field + "_kb"]), kinds) if field == "pss" else _mib(r["rss_kb"]))


def _dotted(obj, key):
    for part in key.split("."):
        if not isinstance(obj, dict):
            return None
        obj = obj.get(part)
    return obj


def ratio(path_a, key_a, path_b, key_b):
    a = _dotted(json.load(open(path_a)), key_a)
    b = _dotted(json.load(open(path_b)), key_b)
    if not isinstance(a, (int, float)) or not isinstance(b, (int, float)) or b == 0:
        print("n/a")
        return
    r = a / b
    print("×%.2f" % r if r < 10 else "×%.0f" % r)


def table_cols(results_path, header):
    rows = []
    for line in open(results_path):
        line = line.rstrip("\n")
        if not line:
            continue
        parts = line.split("\t")[:len(header)]
        rows.append(parts + [""] * (len(header) - len(parts)))
    widths = [max(len(r[i]) for r in rows + [header]) for i in range(len(header))]

    def fmt(r):
        return "| " + " | ".join(r[i].ljust(widths[i]) for i in range(len(header))) + " |"

    print(fmt(header))
    print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for r in rows:
        print(fmt(r))


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
    elif cmd == "cold-swiftlet-image":
        cold_swiftlet_image(*args[:6])
    elif cmd == "make-image":
        make_image(args[0], args[1])
    elif cmd == "import-image":
        return import_image(args[0], args[1], args[2])
    elif cmd == "image-rootfs":
        return image_rootfs(args[0])
    elif cmd == "make-image-bundle":
        return make_image_bundle(args[0], args[1])
    elif cmd == "cold-runc-httpd":
        cold_runc_httpd(*args[:7])
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
    elif cmd == "instance-pid-of":
        return instance_pid_of(args[0], args[1], args[2])
    elif cmd == "make-busybox-bundle":
        make_busybox_bundle(args[0])
    elif cmd == "cold-docker":
        cold_docker(args[0], args[1], args[2], args[3:])
    elif cmd == "fmt-field":
        fmt_field(args[0], args[1:])
    elif cmd == "wait-pool":
        ok, pools = wait_pool(Gateway(args[0], args[1]), args[2])
        print(json.dumps(pools))
        return 0 if ok else 1
    elif cmd == "scale-zero":
        return scale_zero(*args[:7])
    elif cmd == "function-status":
        return function_status(args[0], args[1], args[2])
    elif cmd == "wait-replicas":
        return wait_replicas(args[0], args[1], args[2], args[3])
    elif cmd == "fmt-ms":
        v = json.load(open(args[0])).get(args[1])
        print(fmt_ms(v))
    elif cmd == "fmt-pct":
        fmt_pct(*args[:2])
    elif cmd == "targets":
        targets(args[0], args[1], args[2], args[3])
    elif cmd == "wrk-parse":
        wrk_parse(args[0], args[1] if len(args) > 1 else None)
    elif cmd == "async-wait-idle":
        return async_wait_idle(*args[:4])
    elif cmd == "async-complete":
        return async_complete(*args[:6])
    elif cmd == "sync-batch":
        sync_batch(*args[:4])
    elif cmd == "async-e2e":
        return async_e2e(*args[:5])
    elif cmd == "async-audit":
        return async_audit(args[0], args[1], args[2], args[3], args[4], args[5:])
    elif cmd == "fmt-async":
        fmt_async(args[0], args[1])
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
    elif cmd == "cold-swiftlet-tier":
        cold_swiftlet_tier(*args[:7])
    elif cmd == "oci-list":
        print("\n".join((runsc_list if os.path.basename(args[0]) == "runsc" else runc_list)(args[1])))
    elif cmd == "instance-memory":
        return instance_memory(args[0], args[1])
    elif cmd == "fmt-mem":
        fmt_mem(args[0], args[1])
    elif cmd == "ratio":
        ratio(*args[:4])
    elif cmd == "table-cols":
        table_cols(args[0], args[1:])
    else:
        print("unknown subcommand %s" % cmd, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
