"""Tests for the Swiftlet runners (runners/python3/runner.py, runners/node/runner.js).

Each runner is started as a subprocess on a free loopback port with a handler
written to a temporary directory; all traffic goes to 127.0.0.1 only.
Run with:  python3 -m pytest -q runners/tests
"""

import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PY_RUNNER = ROOT / "runners" / "python3" / "runner.py"
NODE_RUNNER = ROOT / "runners" / "node" / "runner.js"
PYTHON = "/usr/bin/python3" if os.path.exists("/usr/bin/python3") else sys.executable
NODE = "/usr/bin/node" if os.path.exists("/usr/bin/node") else shutil.which("node")

KINDS = ["python", "node"]
START_TIMEOUT = 15.0
HTTP_TIMEOUT = 30.0

# ---------------------------------------------------------------------------
# Test handlers
# ---------------------------------------------------------------------------

ECHO_PY = textwrap.dedent('''
    import time

    def handle(event, context):
        p = event.path
        if p == "/bin":
            return {"statusCode": 200, "body": event.body,
                    "headers": {"Content-Type": "application/octet-stream"}}
        if p == "/raise":
            raise ValueError("boom from handler")
        if p == "/slow":
            time.sleep(float(event.query.get("s", "2")))
            return {"body": "slow done"}
        if p == "/status":
            return {"statusCode": 418, "body": "short and stout",
                    "headers": [("X-Custom", "teapot"), ("Content-Type", "text/plain")]}
        if p == "/dict":
            return {"body": {"b": 1, "a": [1, 2]}}
        if p == "/none":
            return None
        if p == "/tuple":
            return ("created", 201, {"X-T": "1"})
        if p == "/missing-key":
            return {"body": event.query["nope"]}
        if p == "/bad-status":
            return {"statusCode": "teapot", "body": "x"}
        if p == "/print":
            print("printed by handler")
            return "ok"
        return {"body": {
            "method": event.method,
            "path": event.path,
            "query": dict(event.query),
            "a_list": event.query.getlist("a"),
            "headers": {k.lower(): v for k, v in event.headers.items()},
            "x_test": event.headers.get("x-TEST"),
            "x_test_item": event.headers["X-Test"] if "x-test" in event.headers else None,
            "body": event.body.decode("utf-8", "replace"),
            "body_type": type(event.body).__name__,
            "hostname": context.hostname,
        }}
''')

ECHO_JS = textwrap.dedent('''
    'use strict';
    module.exports = async (event, context) => {
      switch (event.path) {
        case '/bin':
          return event.body;
        case '/raise':
          throw new RangeError('boom from handler');
        case '/reject':
          return Promise.reject(new Error('rejected from handler'));
        case '/slow':
          await new Promise((r) => setTimeout(r, Number(event.query.s || 2) * 1000));
          return 'slow done';
        case '/status':
          context.status(418).headers({ 'X-Custom': 'teapot', 'Content-Type': 'text/plain' });
          return 'short and stout';
        case '/ctx':
          context.status(201).headers({ 'X-Ctx': 'yes', 'Content-Type': 'application/json' }).succeed({ ok: true, n: 1 });
          return;
        case '/fail':
          context.fail('bad input');
          return;
        case '/fail422':
          context.status(422).fail(new Error('unprocessable'));
          return;
        case '/object':
          return { b: 1, a: [1, 2] };
        case '/print':
          console.log('printed by handler');
          return 'ok';
        default: {
          const b = event.body;
          return context.headers({ 'Content-Type': 'application/json' }).succeed({
            method: event.method,
            path: event.path,
            query: event.query,
            headers: event.headers,
            body: Buffer.isBuffer(b) ? b.toString('latin1') : b,
            bodyType: Buffer.isBuffer(b) ? 'buffer' : Array.isArray(b) ? 'array' : typeof b,
          });
        }
      }
    };
''')

HANDLERS = {"python": ("handler.py", ECHO_PY), "node": ("handler.js", ECHO_JS)}

# ---------------------------------------------------------------------------
# Runner process management
# ---------------------------------------------------------------------------


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def runner_command(kind):
    if kind == "python":
        return [PYTHON, str(PY_RUNNER)]
    if NODE is None:
        pytest.skip("node is not installed")
    return [NODE, str(NODE_RUNNER)]


class Runner:
    def __init__(self, kind, workdir, source=None, filename=None, env=None):
        self.kind = kind
        self.workdir = Path(workdir)
        self.function_dir = self.workdir / "function"
        self.function_dir.mkdir(parents=True, exist_ok=True)
        default_name, default_source = HANDLERS[kind]
        (self.function_dir / (filename or default_name)).write_text(
            default_source if source is None else source)
        self.port = free_port()
        self.stdout_path = self.workdir / "stdout.log"
        self.stderr_path = self.workdir / "stderr.log"
        self.env = dict(os.environ)
        self.env.pop("RAW_BODY", None)
        self.env.update({
            "SWIFTLET_FUNCTION_DIR": str(self.function_dir),
            "SWIFTLET_RUNNER_PORT": str(self.port),
        })
        self.env.update(env or {})
        self.proc = None

    def start(self):
        with open(self.stdout_path, "wb") as out, open(self.stderr_path, "wb") as err:
            self.proc = subprocess.Popen(runner_command(self.kind), stdin=subprocess.DEVNULL,
                                         stdout=out, stderr=err, env=self.env, cwd=str(self.workdir))
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError("%s runner exited with %s:\n%s" % (
                    self.kind, self.proc.returncode, self.stderr()))
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
                return self
            except OSError:
                time.sleep(0.05)
        raise AssertionError("%s runner did not start listening:\n%s" % (self.kind, self.stderr()))

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pass

    def stderr(self):
        try:
            return self.stderr_path.read_text(errors="replace")
        except OSError:
            return ""

    def stdout(self):
        try:
            return self.stdout_path.read_text(errors="replace")
        except OSError:
            return ""

    def connection(self):
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=HTTP_TIMEOUT)

    def request(self, method, path, body=None, headers=None):
        conn = self.connection()
        try:
            conn.request(method, path, body=body, headers=headers or {})
            resp = conn.getresponse()
            data = resp.read()
            return resp.status, {k.lower(): v for k, v in resp.getheaders()}, data
        finally:
            conn.close()

    def wait_for_stderr(self, needle, timeout=5.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            text = self.stderr()
            if needle in text:
                return text
            time.sleep(0.05)
        return self.stderr()


@pytest.fixture
def start_runner(tmp_path):
    """Factory for runners that live as long as one test."""
    runners = []

    def start(kind, source=None, filename=None, env=None, name=None):
        r = Runner(kind, tmp_path / (name or "r%d" % len(runners)), source, filename, env)
        runners.append(r)
        return r.start()

    try:
        yield start
    finally:
        for r in runners:
            r.stop()


@pytest.fixture(scope="module", params=KINDS)
def echo(request, tmp_path_factory):
    """The echo handler, one warm runner per language for the whole module."""
    r = Runner(request.param, tmp_path_factory.mktemp("echo-" + request.param))
    try:
        r.start()
        yield r
    finally:
        r.stop()


def _module_runner(kind, tmp_path_factory, env=None):
    r = Runner(kind, tmp_path_factory.mktemp(kind), env=env)
    try:
        r.start()
        yield r
    finally:
        r.stop()


@pytest.fixture(scope="module")
def py_echo(tmp_path_factory):
    yield from _module_runner("python", tmp_path_factory)


@pytest.fixture(scope="module")
def node_echo(tmp_path_factory):
    yield from _module_runner("node", tmp_path_factory)


@pytest.fixture(scope="module")
def node_raw(tmp_path_factory):
    yield from _module_runner("node", tmp_path_factory, env={"RAW_BODY": "true"})


def pattern_bytes():
    return bytes(range(256)) * 64


def chunks_of(data, size=64 * 1024):
    view = memoryview(data)
    for i in range(0, len(view), size):
        yield view[i:i + size]


# ---------------------------------------------------------------------------
# Both runners
# ---------------------------------------------------------------------------


def test_startup_line(echo):
    lang = "python3" if echo.kind == "python" else "node"
    expected = "swiftlet %s runner: handler loaded from %s, listening on 127.0.0.1:%d" % (
        lang, echo.function_dir, echo.port)
    # The port accepts connections as soon as it listens; the line may follow a moment later.
    deadline = time.monotonic() + 5
    while expected not in echo.stderr() and time.monotonic() < deadline:
        time.sleep(0.01)
    assert expected in echo.stderr()


def test_health(echo):
    status, headers, body = echo.request("GET", "/_/health")
    assert (status, body) == (200, b"OK")
    assert headers["content-length"] == "2"
    status, headers, body = echo.request("HEAD", "/_/health")
    assert (status, body) == (200, b"")


def test_get_with_query_shows_event_fields(echo):
    status, headers, body = echo.request(
        "GET", "/some/path%20x?a=1&a=2&name=Ada&empty=", headers={"X-Test": "yes"})
    assert status == 200, body
    data = json.loads(body)
    assert data["method"] == "GET"
    if echo.kind == "python":
        assert headers["content-type"] == "application/json"
        assert data["path"] == "/some/path x"  # Flask's request.path is decoded
        assert data["query"] == {"a": "1", "name": "Ada", "empty": ""}
        assert data["a_list"] == ["1", "2"]
        assert data["headers"]["x-test"] == "yes"
        assert data["x_test"] == "yes" and data["x_test_item"] == "yes"
        assert data["body"] == "" and data["body_type"] == "bytes"
        assert data["hostname"]
    else:
        assert headers["content-type"] == "application/json; charset=utf-8"
        assert data["path"] == "/some/path%20x"  # express' req.path is not decoded
        assert data["query"] == {"a": ["1", "2"], "name": "Ada", "empty": ""}
        assert data["headers"]["x-test"] == "yes"
        assert data["headers"]["content-type"] == "text/plain"  # template default
        assert data["body"] == {} and data["bodyType"] == "object"  # no body


@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH", "DELETE", "OPTIONS", "PURGE"])
def test_any_method_reaches_handler(echo, method):
    status, _, body = echo.request(method, "/m?x=1", body=b"payload",
                                   headers={"Content-Type": "text/plain"})
    assert status == 200, body
    data = json.loads(body)
    assert data["method"] == method
    assert data["body"] == "payload"


@pytest.mark.parametrize("size_name", ["pattern", "random5m"])
@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
def test_binary_round_trip(echo, size_name, chunked):
    data = pattern_bytes() if size_name == "pattern" else os.urandom(5 * 1024 * 1024)
    body = chunks_of(data) if chunked else data
    status, headers, out = echo.request(
        "POST", "/bin", body=body, headers={"Content-Type": "application/octet-stream"})
    assert status == 200, out[:200]
    assert headers["content-type"] == "application/octet-stream"
    assert headers["content-length"] == str(len(data))
    assert out == data


def test_large_body_32mib(echo):
    data = os.urandom(32 * 1024 * 1024)
    started = time.monotonic()
    status, _, out = echo.request("POST", "/bin", body=data,
                                  headers={"Content-Type": "application/octet-stream"})
    elapsed = time.monotonic() - started
    assert status == 200
    assert out == data
    assert elapsed < 20, "32 MiB round trip took %.1fs" % elapsed


def test_status_and_headers_from_handler(echo):
    status, headers, body = echo.request("GET", "/status")
    assert status == 418
    assert headers["x-custom"] == "teapot"
    assert body == b"short and stout"
    if echo.kind == "python":
        assert headers["content-type"] == "text/plain"
    else:
        assert headers["content-type"] == "text/plain; charset=utf-8"  # express adds the charset


def test_handler_error_is_500_and_runner_keeps_serving(echo):
    status, headers, body = echo.request("GET", "/raise?x=1")
    kind = "ValueError" if echo.kind == "python" else "RangeError"
    assert status == 500
    assert body.decode() == "Internal Server Error: handler raised %s" % kind
    assert b"Traceback" not in body and b"boom" not in body and b" at " not in body
    text = echo.wait_for_stderr("boom from handler")
    assert "GET /raise?x=1: handler raised %s" % kind in text
    assert "boom from handler" in text
    status, _, body = echo.request("GET", "/after-error")
    assert status == 200 and json.loads(body)["path"] == "/after-error"


def test_keep_alive_many_requests_one_connection(echo):
    conn = echo.connection()
    try:
        conn.connect()
        sock = conn.sock
        local = sock.getsockname()
        for i in range(60):
            if i % 3 == 0:
                conn.request("GET", "/ka?i=%d" % i)
            elif i % 3 == 1:
                conn.request("POST", "/ka?i=%d" % i, body=b"x" * i,
                             headers={"Content-Type": "text/plain"})
            else:
                conn.request("HEAD", "/ka?i=%d" % i)
            resp = conn.getresponse()
            data = resp.read()
            assert resp.status == 200
            assert resp.getheader("Content-Length") is not None
            if i % 3 == 2:
                assert data == b""
            else:
                assert json.loads(data)["method"] in ("GET", "POST")
            assert not resp.will_close
            assert conn.sock is sock, "connection was re-opened at request %d" % i
        assert conn.sock.getsockname() == local
    finally:
        conn.close()


def test_head_has_no_body(echo):
    conn = echo.connection()
    try:
        conn.request("HEAD", "/head?a=1")
        resp = conn.getresponse()
        assert resp.status == 200
        assert int(resp.getheader("Content-Length")) > 0
        assert resp.read() == b""
        # If a body had been sent, the next response on this connection would be garbage.
        conn.request("GET", "/head?a=2")
        resp = conn.getresponse()
        assert resp.status == 200
        assert json.loads(resp.read())["method"] == "GET"
    finally:
        conn.close()


def test_slow_handler_does_not_block(echo):
    results = {}

    def slow(key, seconds):
        started = time.monotonic()
        results[key] = echo.request("GET", "/slow?s=%s" % seconds)
        results[key + "_elapsed"] = time.monotonic() - started

    threads = [threading.Thread(target=slow, args=("slow%d" % i, 2.5), daemon=True) for i in range(3)]
    for t in threads:
        t.start()
    time.sleep(0.4)  # let the slow calls get into the handler
    started = time.monotonic()
    status, _, body = echo.request("GET", "/_/health")
    assert (status, body) == (200, b"OK")
    status, _, body = echo.request("GET", "/fast")
    assert status == 200
    assert time.monotonic() - started < 1.5, "health/fast requests were blocked by slow handlers"
    for t in threads:
        t.join(timeout=15)
    started_all = min(results["slow%d_elapsed" % i] for i in range(3))
    for i in range(3):
        status, _, body = results["slow%d" % i]
        assert (status, body) == (200, b"slow done")
        assert results["slow%d_elapsed" % i] < 4.5, "slow calls were serialised"
    assert started_all >= 2.0


def test_handler_print_reaches_stdout_promptly(echo):
    status, _, body = echo.request("GET", "/print")
    assert (status, body) == (200, b"ok")
    deadline = time.monotonic() + 3
    while "printed by handler" not in echo.stdout() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert "printed by handler" in echo.stdout()


@pytest.mark.parametrize("kind", KINDS)
def test_sigterm_exits_promptly(start_runner, kind):
    r = start_runner(kind)
    assert r.request("GET", "/_/health")[0] == 200
    r.proc.send_signal(signal.SIGTERM)
    assert r.proc.wait(timeout=5) == 0


IMPORT_ERRORS = {
    "python": {
        "missing": (None, "handler file"),
        "syntax": ("def handle(event, context)\n    return 1\n", "SyntaxError"),
        "no-handle": ("def other(event, context):\n    return 1\n", "handle"),
        "raises": ("raise RuntimeError('broken at import')\n", "broken at import"),
        "missing-module": ("import no_such_module_xyz\n", "no_such_module_xyz"),
    },
    "node": {
        "missing": (None, "handler file not found"),
        "syntax": ("module.exports = async (event, context) => {\n", "SyntaxError"),
        "no-handle": ("module.exports = { notAFunction: 1 };\n", "does not export a function"),
        "raises": ("throw new Error('broken at import');\n", "broken at import"),
        "missing-module": ("require('no-such-module-xyz');\n", "no-such-module-xyz"),
    },
}


@pytest.mark.parametrize("kind,case", [(k, c) for k in KINDS for c in IMPORT_ERRORS[k]])
def test_import_error_exits_3(tmp_path, kind, case):
    source, needle = IMPORT_ERRORS[kind][case]
    fdir = tmp_path / "function"
    fdir.mkdir()
    if source is not None:
        (fdir / HANDLERS[kind][0]).write_text(source)
    env = dict(os.environ, SWIFTLET_FUNCTION_DIR=str(fdir), SWIFTLET_RUNNER_PORT=str(free_port()))
    proc = subprocess.run(runner_command(kind), env=env, stdin=subprocess.DEVNULL,
                          capture_output=True, timeout=30)
    err = proc.stderr.decode(errors="replace")
    assert proc.returncode == 3, err
    lang = "python3" if kind == "python" else "node"
    first = err.splitlines()[0]
    assert first.startswith("swiftlet %s runner: failed to load handler from %s" % (lang, fdir)), err
    assert needle in err


# ---------------------------------------------------------------------------
# python3-http specifics
# ---------------------------------------------------------------------------


def test_python_body_is_bytes_and_headers_case_insensitive(py_echo):
    status, _, body = py_echo.request("POST", "/echo", body=b'{"a": 1}',
                                      headers={"Content-Type": "application/json", "x-test": "v"})
    data = json.loads(body)
    assert data["body"] == '{"a": 1}' and data["body_type"] == "bytes"
    assert data["x_test"] == "v"
    assert data["headers"]["content-type"] == "application/json"


def test_python_dict_body_is_json(py_echo):
    status, headers, body = py_echo.request("GET", "/dict")
    assert status == 200
    assert headers["content-type"] == "application/json"
    assert body == b'{"a":[1,2],"b":1}\n'  # Flask jsonify: compact, sorted, newline


def test_python_none_and_tuple_and_bad_returns(py_echo):
    status, headers, body = py_echo.request("GET", "/none")
    assert (status, body) == (200, b"")
    assert headers["content-type"] == "text/html; charset=utf-8"
    status, headers, body = py_echo.request("GET", "/tuple")
    assert (status, body, headers["x-t"]) == (201, b"created", "1")
    status, _, body = py_echo.request("GET", "/missing-key")
    assert status == 400  # werkzeug BadRequestKeyError -> 400, like Flask
    status, _, body = py_echo.request("GET", "/bad-status")
    assert status == 500
    assert body == b"Internal Server Error: handler returned an invalid response"


# ---------------------------------------------------------------------------
# node18 specifics
# ---------------------------------------------------------------------------


def test_node_body_parsing(node_echo):
    def post(body, ctype):
        headers = {"Content-Type": ctype} if ctype is not None else {}
        status, _, out = node_echo.request("POST", "/echo", body=body, headers=headers)
        assert status == 200, out
        return json.loads(out)

    data = post(b'{"name": "Ada", "n": [1, 2]}', "application/json")
    assert data["bodyType"] == "object" and data["body"] == {"name": "Ada", "n": [1, 2]}
    data = post(b'[1, 2, 3]', "application/json; charset=utf-8")
    assert data["bodyType"] == "array" and data["body"] == [1, 2, 3]
    data = post("héllo text".encode(), "text/plain")
    assert data["bodyType"] == "string" and data["body"] == "héllo text"
    data = post(b"<p>x</p>", "text/html")
    assert data["bodyType"] == "string" and data["body"] == "<p>x</p>"
    data = post(b"no content type", None)
    assert data["bodyType"] == "string" and data["body"] == "no content type"
    data = post(b"a=1&a=2&b[c]=3", "application/x-www-form-urlencoded")
    assert data["body"] == {"a": ["1", "2"], "b": {"c": "3"}}
    data = post(bytes([0, 1, 2, 255]), "application/octet-stream")
    assert data["bodyType"] == "buffer" and data["body"] == "\x00\x01\x02\xff"
    data = post(b"", "application/json")
    assert data["body"] == {}

    status, _, out = node_echo.request("POST", "/echo", body=b"{bad json",
                                       headers={"Content-Type": "application/json"})
    assert status == 400
    status, _, out = node_echo.request("POST", "/echo", body=b'"just a string"',
                                       headers={"Content-Type": "application/json"})
    assert status == 400  # body-parser json is strict


def test_node_raw_body_env(node_raw):
    status, _, out = node_raw.request("POST", "/echo", body=b'{"a":1}',
                                      headers={"Content-Type": "application/json"})
    data = json.loads(out)
    assert data["bodyType"] == "buffer" and data["body"] == '{"a":1}'
    data = pattern_bytes()
    for body in (data, chunks_of(data, 1000)):
        status, headers, out = node_raw.request("POST", "/bin", body=body,
                                                headers={"Content-Type": "image/png"})
        assert status == 200 and out == data
        assert headers["content-type"] == "application/octet-stream"


def test_node_context_chain(node_echo):
    status, headers, body = node_echo.request("GET", "/ctx")
    assert status == 201
    assert headers["x-ctx"] == "yes"
    assert headers["content-type"] == "application/json; charset=utf-8"
    assert json.loads(body) == {"ok": True, "n": 1}


def test_node_returned_object_is_json_stringified(node_echo):
    status, headers, body = node_echo.request("GET", "/object")
    assert status == 200
    assert body == b'{"b":1,"a":[1,2]}'
    # like express res.send(string) in the template
    assert headers["content-type"] == "text/html; charset=utf-8"


def test_node_fail_and_reject(node_echo):
    status, _, body = node_echo.request("GET", "/fail")
    assert (status, body) == (500, b"bad input")
    status, _, body = node_echo.request("GET", "/fail422")
    assert (status, body) == (422, b"Error: unprocessable")
    status, _, body = node_echo.request("POST", "/reject", body=b"x")
    assert status == 500
    assert body == b"Internal Server Error: handler raised Error"
    assert "POST /reject: handler raised Error" in node_echo.wait_for_stderr("rejected from handler")
    assert node_echo.request("GET", "/_/health")[0] == 200
