"""Tests for the ready signal ($SWIFTLET_READY_FD) and warm (pool) mode of both runners.

Warm mode: a runner started with SWIFTLET_WARM=1 has no function code; it listens,
signals ready, answers /_/health and 503 elsewhere until POST /_/specialise gives it
an environment and a function directory. All traffic goes to 127.0.0.1 only.
Run with:  python3 -m pytest -q runners/tests
"""

import json
import os
import select
import signal
import subprocess
import sys
import textwrap
import threading
import time

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import test_runners as base  # noqa: E402
from test_runners import (  # noqa: E402,F401 - the echo cases below run again on a specialised runner
    HANDLERS,
    IMPORT_ERRORS,
    KINDS,
    Runner,
    pattern_bytes,
    runner_command,
    test_any_method_reaches_handler,
    test_binary_round_trip,
    test_get_with_query_shows_event_fields,
    test_handler_error_is_500_and_runner_keeps_serving,
    test_head_has_no_body,
    test_health,
    test_keep_alive_many_requests_one_connection,
    test_startup_line,
    test_status_and_headers_from_handler,
)

READY_TIMEOUT = 15.0
LANG = {"python": "python3", "node": "node"}

# ---------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------


def read_until_eof(fd, timeout=READY_TIMEOUT):
    """Everything written to the read end `fd` until every writer closed it."""
    data = b""
    deadline = time.monotonic() + timeout
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            raise AssertionError("no end of file on the ready pipe after %.0fs (got %r)" % (timeout, data))
        r, _, _ = select.select([fd], [], [], left)
        if r:
            chunk = os.read(fd, 4096)
            if not chunk:
                return data
            data += chunk


def pipe_inode(fd):
    return os.fstat(fd).st_ino


class Proc(Runner):
    """A runner process with control over stdin, inherited fds and warm mode."""

    def __init__(self, kind, workdir, source=None, filename=None, env=None, warm=False):
        Runner.__init__(self, kind, workdir, source, filename)
        for key in ("SWIFTLET_READY_FD", "SWIFTLET_WARM", "PYTHONPATH", "MAX_JSON_SIZE", "MAX_RAW_SIZE"):
            self.env.pop(key, None)
        self.warm = warm
        if warm:
            # No function code at start: the code is named in the specialise request.
            self.empty_dir = self.workdir / "empty"
            self.empty_dir.mkdir(exist_ok=True)
            self.env["SWIFTLET_WARM"] = "1"
            self.env["SWIFTLET_FUNCTION_DIR"] = str(self.empty_dir)
        self.env.update(env or {})

    def spawn(self, stdin=subprocess.DEVNULL, pass_fds=()):
        with open(self.stdout_path, "wb") as out, open(self.stderr_path, "wb") as err:
            self.proc = subprocess.Popen(runner_command(self.kind), stdin=stdin, stdout=out, stderr=err,
                                         env=self.env, cwd=str(self.workdir), pass_fds=pass_fds)
        return self

    def start(self, stdin=subprocess.DEVNULL, pass_fds=()):
        self.spawn(stdin, pass_fds)
        deadline = time.monotonic() + base.START_TIMEOUT
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError("%s runner exited with %s:\n%s" % (
                    self.kind, self.proc.returncode, self.stderr()))
            status = None
            try:
                status = self.request("GET", "/_/health")[0]
            except OSError:
                pass
            if status == 200:
                return self
            time.sleep(0.02)
        raise AssertionError("%s runner did not become healthy:\n%s" % (self.kind, self.stderr()))

    def specialise(self, body, function_dir=None):
        """POST /_/specialise; `body` is a dict (functionDir defaults to this runner's) or raw bytes."""
        if isinstance(body, dict):
            body = dict(body)
            body.setdefault("functionDir", str(function_dir or self.function_dir))
            body = json.dumps(body).encode()
        return self.request("POST", "/_/specialise", body=body,
                            headers={"Content-Type": "application/json"})

    def wait_exit(self, timeout=10):
        return self.proc.wait(timeout=timeout)


@pytest.fixture
def spawn(tmp_path):
    """Factory for Proc runners that live as long as one test."""
    procs = []

    def make(kind, source=None, filename=None, env=None, warm=False, start=True, **start_args):
        p = Proc(kind, tmp_path / ("p%d" % len(procs)), source, filename, env, warm)
        procs.append(p)
        return p.start(**start_args) if start else p

    try:
        yield make
    finally:
        for p in procs:
            p.stop()


# Handlers that report what they see of their process.
PROBE_PY = textwrap.dedent('''
    import os, threading
    AT_IMPORT = os.environ.get("IMPORT_VAR")
    MAIN_THREAD_IMPORT = threading.current_thread() is threading.main_thread()

    def handle(event, context):
        fds = {}
        for name in os.listdir("/proc/self/fd"):
            try:
                fds[name] = os.readlink("/proc/self/fd/" + name)
            except OSError:
                pass
        return {"body": {
            "at_import": AT_IMPORT,
            "per_call": os.environ.get("CALL_VAR"),
            "warm": os.environ.get("SWIFTLET_WARM"),
            "ready_fd": os.environ.get("SWIFTLET_READY_FD"),
            "hostname": context.hostname,
            "env_hostname": os.environ.get("HOSTNAME"),
            "fds": fds,
            "main_thread_import": MAIN_THREAD_IMPORT,
        }}
''')

PROBE_JS = textwrap.dedent('''
    'use strict';
    const fs = require('fs');
    const AT_IMPORT = process.env.IMPORT_VAR;
    module.exports = async (event, context) => {
      const fds = {};
      for (const name of fs.readdirSync('/proc/self/fd')) {
        try { fds[name] = fs.readlinkSync('/proc/self/fd/' + name); } catch (_) {}
      }
      return context.headers({ 'Content-Type': 'application/json' }).succeed({
        at_import: AT_IMPORT === undefined ? null : AT_IMPORT,
        per_call: process.env.CALL_VAR === undefined ? null : process.env.CALL_VAR,
        warm: process.env.SWIFTLET_WARM === undefined ? null : process.env.SWIFTLET_WARM,
        ready_fd: process.env.SWIFTLET_READY_FD === undefined ? null : process.env.SWIFTLET_READY_FD,
        env_hostname: process.env.HOSTNAME === undefined ? null : process.env.HOSTNAME,
        fds,
      });
    };
''')

PROBES = {"python": PROBE_PY, "node": PROBE_JS}


def probe(runner):
    status, _, body = runner.request("GET", "/probe")
    assert status == 200, body
    return json.loads(body)


def assert_not_alarming(text):
    for word in ("Traceback", "Error", "error", "EBADF", "EPIPE", "ready fd", "READY_FD"):
        assert word not in text, text


# ---------------------------------------------------------------------------
# Ready signal
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("warm", [False, True], ids=["normal", "warm"])
def test_ready_fd_gets_ready_and_is_closed(spawn, kind, warm):
    r, w = os.pipe()
    try:
        p = spawn(kind, PROBES[kind], warm=warm, env={"SWIFTLET_READY_FD": str(w)}, start=False)
        p.spawn(pass_fds=(w,))
        os.close(w)
        w = None
        # End of file: the runner closed its end (and nothing it started holds one).
        assert read_until_eof(r) == b"ready\n"
        # Ready means serving: no retry needed.
        status, _, body = p.request("GET", "/_/health")
        assert (status, body) == (200, b"OK")
        if warm:
            status, _, body = p.specialise({})
            assert status == 200, body
        data = probe(p)
        assert data["ready_fd"] is None
        assert "pipe:[%d]" % pipe_inode(r) not in data["fds"].values()
        assert_not_alarming(p.stderr())
    finally:
        os.close(r)
        if w is not None:
            os.close(w)


@pytest.mark.parametrize("kind", KINDS)
def test_ready_fd_on_stdin_like_the_platform(spawn, kind):
    """The platform passes the pipe as fd 0 with SWIFTLET_READY_FD=0."""
    r, w = os.pipe()
    try:
        p = spawn(kind, PROBES[kind], warm=True, env={"SWIFTLET_READY_FD": "0"}, start=False)
        p.spawn(stdin=w)
        os.close(w)
        w = None
        assert read_until_eof(r) == b"ready\n"
        assert p.request("GET", "/_/health")[0] == 200
        status, _, body = p.specialise({})
        assert status == 200, body
        data = probe(p)
        assert data["ready_fd"] is None
        assert "pipe:[%d]" % pipe_inode(r) not in data["fds"].values()
        assert data["fds"].get("0") == "/dev/null"  # stdin stays a valid descriptor
        assert_not_alarming(p.stderr())
    finally:
        os.close(r)
        if w is not None:
            os.close(w)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("value", ["", "abc", "-1", "3x", "1e3", " 7", "99999", "4096", "5", "8",
                                   "99999999999999999999", "reader-closed"])
def test_bad_ready_fd_is_harmless(spawn, kind, value):
    pass_fds = ()
    if value == "reader-closed":  # the write fails with EPIPE
        r, w = os.pipe()
        os.close(r)
        value, pass_fds = str(w), (w,)
    try:
        p = spawn(kind, PROBES[kind], env={"SWIFTLET_READY_FD": value}, pass_fds=pass_fds)
    finally:
        for fd in pass_fds:
            os.close(fd)
    assert p.request("GET", "/_/health")[0] == 200
    data = probe(p)
    assert data["ready_fd"] is None
    # The runner keeps serving (e.g. node did not close one of its own descriptors).
    for _ in range(3):
        assert p.request("GET", "/again")[0] == 200
    assert p.proc.poll() is None
    assert_not_alarming(p.stderr())


# ---------------------------------------------------------------------------
# Warm mode
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
def test_warm_before_specialisation(spawn, kind):
    p = spawn(kind, warm=True)
    status, headers, body = p.request("GET", "/_/health")
    assert (status, body) == (200, b"OK")
    assert p.request("HEAD", "/_/health")[0] == 200
    for method, path in [("GET", "/"), ("POST", "/anything?x=1"), ("GET", "/_/specialise"),
                         ("PUT", "/_/specialise"), ("DELETE", "/x")]:
        status, headers, body = p.request(method, path, body=b"payload" if method != "GET" else None)
        assert status == 503, (method, path, body)
        assert body == b"instance not specialised yet"
        assert headers["content-type"].startswith("text/plain")
    # A keep-alive connection survives the 503.
    conn = p.connection()
    try:
        for _ in range(3):
            conn.request("GET", "/x")
            resp = conn.getresponse()
            assert resp.status == 503 and resp.read() == b"instance not specialised yet"
    finally:
        conn.close()
    lang = LANG[kind]
    assert "swiftlet %s runner: warm, listening on 127.0.0.1:%d" % (lang, p.port) in p.wait_for_stderr("warm")
    assert "handler loaded" not in p.stderr()


@pytest.mark.parametrize("kind", KINDS)
def test_warm_specialise_applies_env(spawn, kind):
    p = spawn(kind, PROBES[kind], warm=True, env={"HOSTNAME": "warm-host", "CALL_VAR": "old"})
    status, headers, body = p.specialise({"env": {
        "IMPORT_VAR": "seen at import", "CALL_VAR": "seen per call", "HOSTNAME": "fn-instance-1",
        "SWIFTLET_FUNCTION_DIR": str(p.function_dir)}})
    assert status == 200, body
    assert json.loads(body) == {"status": "ready"}
    assert headers["content-type"].startswith("application/json")
    data = probe(p)
    assert data["at_import"] == "seen at import"
    assert data["per_call"] == "seen per call"
    assert data["warm"] is None
    assert data["env_hostname"] == "fn-instance-1"
    if kind == "python":
        assert data["hostname"] == "fn-instance-1"  # context.hostname, re-read
        assert data["main_thread_import"] is True  # imported as in normal mode
    expected = "swiftlet %s runner: handler loaded from %s, listening on 127.0.0.1:%d" % (
        LANG[kind], p.function_dir, p.port)
    assert expected in p.wait_for_stderr("handler loaded")


@pytest.mark.parametrize("kind", KINDS)
def test_warm_function_dir_from_env(spawn, kind):
    """Without functionDir the runner uses SWIFTLET_FUNCTION_DIR of the new environment."""
    p = spawn(kind, PROBES[kind], warm=True)
    body = json.dumps({"env": {"SWIFTLET_FUNCTION_DIR": str(p.function_dir), "CALL_VAR": "x"}}).encode()
    status, _, out = p.specialise(body)
    assert status == 200, out
    assert probe(p)["per_call"] == "x"


def test_warm_python_path_first_and_package_imports(spawn, tmp_path):
    pp1, pp2 = tmp_path / "pp1", tmp_path / "pp2"
    for d in (pp1, pp2):
        d.mkdir()
        (d / "shadow.py").write_text("VALUE = %r\n" % d.name)
        (d / ("only_" + d.name + ".py")).write_text("VALUE = %r\n" % d.name)
    source = textwrap.dedent('''
        import signal, sys, threading
        import shadow, only_pp2
        import helper
        from .helper import WHO
        from . import helper as rel_helper
        # Only possible on the main thread, as in a normally started runner.
        signal.signal(signal.SIGUSR1, signal.SIG_IGN)

        def handle(event, context):
            return {"body": {"shadow": shadow.VALUE, "only": only_pp2.VALUE, "helper": helper.WHO,
                             "rel": WHO, "same": rel_helper.WHO, "path": sys.path[:2]}}
    ''')
    p = spawn("python", source, warm=True)
    (p.function_dir / "helper.py").write_text("WHO = 'sibling'\n")
    (p.function_dir / "shadow.py").write_text("VALUE = 'function dir'\n")
    status, _, body = p.specialise({"pythonPath": [str(pp1), str(pp2)]})
    assert status == 200, body
    status, _, body = p.request("GET", "/")
    assert status == 200, body
    data = json.loads(body)
    assert data["path"] == [str(pp1), str(pp2)]
    assert data["shadow"] == "pp1" and data["only"] == "pp2"
    assert data["helper"] == data["rel"] == data["same"] == "sibling"


def test_warm_pythonpath_from_env_without_python_path(spawn, tmp_path):
    """Without pythonPath, a PYTHONPATH in the new environment counts, as at a normal start."""
    pp = tmp_path / "pp"
    pp.mkdir()
    (pp / "from_pp.py").write_text("VALUE = 'pp'\n")
    source = textwrap.dedent('''
        import sys
        import from_pp

        def handle(event, context):
            return {"body": {"value": from_pp.VALUE, "first": sys.path[0]}}
    ''')
    p = spawn("python", source, warm=True)
    status, _, body = p.specialise({"env": {"PYTHONPATH": str(pp)}})
    assert status == 200, body
    status, _, body = p.request("GET", "/")
    assert (status, json.loads(body)) == (200, {"value": "pp", "first": str(pp)})


def test_warm_node_esm_handler(spawn):
    p = spawn("node", "export default async (event, context) => ({ esm: true, path: event.path });\n",
              warm=True)
    (p.function_dir / "package.json").write_text('{"type": "module"}\n')
    status, _, body = p.specialise({})
    assert status == 200, body
    status, _, body = p.request("GET", "/esm")
    assert (status, json.loads(body)) == (200, {"esm": True, "path": "/esm"})


def test_warm_node_settings_from_specialise_env(spawn):
    p = spawn("node", warm=True)
    status, _, body = p.specialise({"env": {"RAW_BODY": "true", "MAX_RAW_SIZE": "1kb"}})
    assert status == 200, body
    status, _, out = p.request("POST", "/echo", body=b'{"a":1}', headers={"Content-Type": "application/json"})
    data = json.loads(out)
    assert data["bodyType"] == "buffer" and data["body"] == '{"a":1}'
    status, _, out = p.request("POST", "/bin", body=b"x" * 1025, headers={"Content-Type": "image/png"})
    assert status == 413
    status, _, out = p.request("POST", "/bin", body=b"x" * 1024, headers={"Content-Type": "image/png"})
    assert (status, out) == (200, b"x" * 1024)


def test_warm_node_json_limit_from_specialise_env(spawn):
    p = spawn("node", warm=True)
    assert p.specialise({"env": {"MAX_JSON_SIZE": "20b"}})[0] == 200
    status, _, out = p.request("POST", "/echo", body=b'{"a":"' + b"y" * 30 + b'"}',
                               headers={"Content-Type": "application/json"})
    assert status == 413
    status, _, out = p.request("POST", "/echo", body=b'{"a":1}', headers={"Content-Type": "application/json"})
    assert status == 200 and json.loads(out)["body"] == {"a": 1}


@pytest.mark.parametrize("kind", KINDS)
def test_warm_second_specialise_is_409(spawn, kind):
    p = spawn(kind, PROBES[kind], warm=True)
    assert p.specialise({"env": {"CALL_VAR": "first"}})[0] == 200
    status, _, body = p.specialise({"env": {"CALL_VAR": "second"}})
    assert (status, body) == (409, b"already specialised")
    assert probe(p)["per_call"] == "first"
    # Other methods on the path go to the handler, like any path.
    assert p.request("GET", "/_/specialise")[0] == 200


@pytest.mark.parametrize("kind", KINDS)
def test_warm_concurrent_specialise_one_wins(spawn, kind):
    # A handler that takes a while to import, so the requests overlap.
    if kind == "python":
        source = "import time\ntime.sleep(1.0)\n" + PROBE_PY
    else:
        source = "const until = Date.now() + 1000; while (Date.now() < until);\n" + PROBE_JS
    p = spawn(kind, source, warm=True)
    n = 4
    barrier = threading.Barrier(n)
    results = [None] * n

    def go(i):
        barrier.wait(timeout=10)
        try:
            results[i] = p.specialise({"env": {"CALL_VAR": "call-%d" % i}})
        except Exception as e:  # noqa: BLE001 - reported below
            results[i] = (None, None, repr(e).encode())

    threads = [threading.Thread(target=go, args=(i,), daemon=True) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    statuses = sorted(r[0] for r in results)
    assert statuses == [200] + [409] * (n - 1), results
    winner = [i for i, r in enumerate(results) if r[0] == 200][0]
    assert probe(p)["per_call"] == "call-%d" % winner
    for r in results:
        if r[0] == 409:
            assert r[2] in (b"already specialised", b"specialisation in progress")


BAD_BODIES = {
    "not-json": b"{not json",
    "empty": b"",
    "array": b"[1, 2]",
    "string": b'"env"',
    "env-list": json.dumps({"env": ["A=1"]}).encode(),
    "env-number": json.dumps({"env": {"A": 1}}).encode(),
    "env-null-value": json.dumps({"env": {"A": None}}).encode(),
    "env-bool": json.dumps({"env": {"A": True}}).encode(),
    "env-object": json.dumps({"env": {"A": {"b": "c"}}}).encode(),
    "env-bad-name": json.dumps({"env": {"A=B": "x"}}).encode(),
    "env-empty-name": json.dumps({"env": {"": "x"}}).encode(),
    "env-nul": json.dumps({"env": {"A": "x\u0000y"}}).encode(),
    "env-lone-surrogate": b'{"env": {"A": "\\ud800"}}',
    "function-dir-number": json.dumps({"functionDir": 3}).encode(),
    "function-dir-empty": json.dumps({"functionDir": ""}).encode(),
}


@pytest.mark.parametrize("kind", KINDS)
def test_warm_bad_request_is_400_and_changes_nothing(spawn, kind):
    p = spawn(kind, PROBES[kind], warm=True)
    for name, body in BAD_BODIES.items():
        status, headers, out = p.request("POST", "/_/specialise", body=body,
                                         headers={"Content-Type": "application/json"})
        assert status == 400, (name, status, out)
        assert b"\n" not in out.strip() and out, name
        assert p.request("GET", "/x")[0] == 503, name
    if kind == "python":  # node ignores pythonPath, whatever it is
        for bad in ({"pythonPath": "/x"}, {"pythonPath": [1]}):
            assert p.specialise(bad)[0] == 400
    assert p.proc.poll() is None
    # Still specialisable afterwards.
    status, _, out = p.specialise({"env": {"CALL_VAR": "good"}, "pythonPath": []})
    assert status == 200, out
    assert probe(p)["per_call"] == "good"


@pytest.mark.parametrize("kind,case", [(k, c) for k in KINDS for c in IMPORT_ERRORS[k]])
def test_warm_load_failure_is_500_and_exits_3(spawn, kind, case):
    source, needle = IMPORT_ERRORS[kind][case]
    p = spawn(kind, warm=True)
    handler_file = p.function_dir / HANDLERS[kind][0]
    if source is None:
        handler_file.unlink()
    else:
        handler_file.write_text(source)
    status, headers, body = p.specialise({})
    assert status == 500, body
    text = body.decode()
    assert text.startswith("failed to load handler") and "\n" not in text.strip()
    assert headers.get("connection", "").lower() == "close"
    assert p.wait_exit(timeout=10) == 3
    err = p.stderr()
    lines = [line for line in err.splitlines() if "warm, listening" not in line]
    assert lines[0].startswith("swiftlet %s runner: failed to load handler from %s" % (
        LANG[kind], p.function_dir)), err
    assert needle in err


@pytest.mark.parametrize("kind", KINDS)
def test_warm_sigterm_exits_promptly(spawn, kind):
    p = spawn(kind, warm=True)
    p.proc.send_signal(signal.SIGTERM)
    assert p.wait_exit(timeout=5) == 0


# ---------------------------------------------------------------------------
# A specialised runner behaves like a normally started one: the echo cases of
# test_runners.py (imported above) run again against this fixture.
# ---------------------------------------------------------------------------


@pytest.fixture(scope="module", params=KINDS)
def echo(request, tmp_path_factory):
    p = Proc(request.param, tmp_path_factory.mktemp("warm-echo-" + request.param), warm=True)
    try:
        p.start()
        status, _, body = p.specialise({"env": {"SWIFTLET_FUNCTION_NAME": "echo"}})
        assert status == 200, body
        yield p
    finally:
        p.stop()


def test_specialised_echo_defaults(echo):
    assert isinstance(echo, Proc) and echo.warm  # the imported cases above use this fixture
    assert "warm, listening" in echo.stderr()
    status, _, body = echo.request("POST", "/bin", body=pattern_bytes(),
                                   headers={"Content-Type": "application/octet-stream"})
    assert status == 200 and body == pattern_bytes()
