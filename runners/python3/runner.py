#!/usr/bin/python3
"""Swiftlet python3 runner.

Loads ``handler.py`` from ``$SWIFTLET_FUNCTION_DIR`` (default
``/home/app/function``) once, then serves HTTP/1.1 on
``127.0.0.1:$SWIFTLET_RUNNER_PORT`` (default 8080) and calls
``handle(event, context)`` for every request, warm and in-process.

The handler contract is the one of the OpenFaaS ``python3-http`` template
(openfaas/python-flask-template, template/python3-http/index.py), so existing
handler files run unchanged:

* ``event.body`` (bytes), ``event.headers`` (case-insensitive),
  ``event.method``, ``event.query`` (first value per key, ``getlist``),
  ``event.path`` (percent-decoded); ``context.hostname``.
* The return value is a dict with optional ``statusCode`` (default 200),
  ``body`` (dict -> JSON, bytes -> raw, anything else -> ``str()``) and
  ``headers`` (dict or list of pairs); ``None`` -> 200 with an empty body.
  Other return values follow Flask's rules (str, bytes, list, tuple).

Readiness: when ``$SWIFTLET_READY_FD`` names an inherited file descriptor (a
pipe), the runner writes ``ready\n`` to it and closes it once it can serve.

Warm (pool) mode, ``SWIFTLET_WARM=1``: the runner starts without function
code, listens and signals ready; ``POST /_/specialise`` with
``{"env": {...}, "functionDir": "...", "pythonPath": [...]}`` then applies the
environment and loads the handler, after which the runner behaves as if it had
been started normally with that environment.

Python standard library only. Modules needed only for rare cases are imported
where they are used, to keep the cold start short.
"""

import os
import sys
import io


def _unbuffered_stdio():
    # Same effect as ``python3 -u``: every write reaches the file descriptor
    # at once, so the platform captures handler prints promptly.
    for fd, name, errors in ((1, "stdout", "strict"), (2, "stderr", "backslashreplace")):
        try:
            old = getattr(sys, name)
            encoding = getattr(old, "encoding", None) or "utf-8"
            stream = io.TextIOWrapper(io.FileIO(fd, "w", closefd=False),
                                      encoding=encoding, errors=errors,
                                      write_through=True)
            setattr(sys, name, stream)
        except (OSError, ValueError):
            pass
    os.environ["PYTHONUNBUFFERED"] = "1"


_unbuffered_stdio()

# Only what every start needs. json, re, traceback, urllib.parse, http,
# importlib.util and the JSON extras (datetime, decimal, uuid, dataclasses,
# email.utils) are imported on first use; http.server is not used at all (it
# pulls in http.client, email and ssl).
import importlib  # noqa: E402
import signal  # noqa: E402
import socketserver  # noqa: E402
import threading  # noqa: E402

PREFIX = "swiftlet python3 runner"
HEALTH_PATH = "/_/health"
SPECIALISE_PATH = "/_/specialise"
MAX_LINE = 65536
MAX_HEADERS = 100
IDLE_TIMEOUT = 120.0  # seconds a keep-alive connection may stay idle
SMALL_BODY = 64 * 1024  # bodies up to this size go out in one send with the head

_stderr_lock = threading.Lock()


def _log(text):
    """Write one event to stderr as a single write."""
    if not text.endswith("\n"):
        text += "\n"
    with _stderr_lock:
        try:
            sys.stderr.write(text)
            sys.stderr.flush()
        except Exception:
            pass


# --------------------------------------------------------------------------
# Event / context (python3-http contract)
# --------------------------------------------------------------------------

class BadRequestKeyError(KeyError):
    """Missing key in event.query / event.headers.

    Like werkzeug's BadRequestKeyError (what Flask raises for request.args[k]
    and request.headers[k]), an uncaught one turns into a 400 response.
    """


class Headers:
    """Case-insensitive, read-only view of the request headers.

    Mirrors werkzeug's EnvironHeaders (Flask's request.headers): names are
    reported Title-Cased, duplicate headers are joined with ", ", ``[key]``
    raises a KeyError subclass, iteration yields ``(name, value)`` pairs.
    """

    __slots__ = ("_d",)

    def __init__(self, lowered):
        self._d = lowered  # lower-case name -> value

    def __getitem__(self, key):
        try:
            return self._d[key.lower()]
        except (KeyError, AttributeError):
            raise BadRequestKeyError(key) from None

    def get(self, key, default=None, type=None):
        try:
            value = self._d[key.lower()]
        except (KeyError, AttributeError):
            return default
        if type is not None:
            try:
                return type(value)
            except (ValueError, TypeError):
                return default
        return value

    def getlist(self, key, type=None):
        try:
            value = self._d[key.lower()]
        except (KeyError, AttributeError):
            return []
        if type is not None:
            try:
                return [type(value)]
            except (ValueError, TypeError):
                return []
        return [value]

    get_all = getlist

    def __contains__(self, key):
        try:
            return key.lower() in self._d
        except AttributeError:
            return False

    has_key = __contains__

    def __iter__(self):
        for k, v in self._d.items():
            yield k.title(), v

    def __len__(self):
        return len(self._d)

    def __bool__(self):
        return bool(self._d)

    def keys(self, lower=False):
        if lower:
            return list(self._d)
        return [k.title() for k in self._d]

    def values(self):
        return list(self._d.values())

    def items(self, lower=False):
        if lower:
            return list(self._d.items())
        return [(k.title(), v) for k, v in self._d.items()]

    def to_dict(self):
        return dict(self.items())

    def to_wsgi_list(self):
        return self.items()

    def copy(self):
        return Headers(dict(self._d))

    def __eq__(self, other):
        if isinstance(other, Headers):
            return self._d == other._d
        return NotImplemented

    def __repr__(self):
        return "%s(%r)" % (type(self).__name__, self.items())


class Query(dict):
    """Query-string arguments, like Flask's request.args (a MultiDict).

    Behaves as a plain dict of the *first* value per key (so ``dict()`` and
    ``json.dumps`` work), with ``getlist``, ``get(key, default, type)``,
    ``to_dict(flat)``, ``lists()`` and ``items(multi=True)``.
    """

    __slots__ = ("_lists",)

    def __init__(self, pairs=()):
        dict.__init__(self)
        lists = {}
        for k, v in pairs:
            lst = lists.get(k)
            if lst is None:
                lists[k] = [v]
                dict.__setitem__(self, k, v)
            else:
                lst.append(v)
        self._lists = lists

    def __getitem__(self, key):
        try:
            return dict.__getitem__(self, key)
        except KeyError:
            raise BadRequestKeyError(key) from None

    def get(self, key, default=None, type=None):
        try:
            value = dict.__getitem__(self, key)
        except KeyError:
            return default
        if type is not None:
            try:
                return type(value)
            except (ValueError, TypeError):
                return default
        return value

    def getlist(self, key, type=None):
        values = self._lists.get(key, ())
        if type is None:
            return list(values)
        out = []
        for v in values:
            try:
                out.append(type(v))
            except (ValueError, TypeError):
                pass
        return out

    def lists(self):
        return [(k, list(v)) for k, v in self._lists.items()]

    def listvalues(self):
        return [list(v) for v in self._lists.values()]

    def items(self, multi=False):
        if multi:
            return [(k, v) for k, vs in self._lists.items() for v in vs]
        return dict.items(self)

    def to_dict(self, flat=True):
        if flat:
            return dict(self)
        return dict(self.lists())

    def copy(self):
        return Query(self.items(multi=True))

    def __repr__(self):
        return "%s(%r)" % (type(self).__name__, self.items(multi=True))


class Event:
    __slots__ = ("body", "headers", "method", "path", "_query_string", "_query", "__dict__")

    def __init__(self, body, headers, method, path, query_string):
        self.body = body
        self.headers = headers
        self.method = method
        self.path = path
        self._query_string = query_string
        self._query = None

    @property
    def query(self):
        q = self._query
        if q is None:
            qs = self._query_string
            if qs:
                from urllib.parse import parse_qsl
                q = Query(parse_qsl(qs, keep_blank_values=True, errors="replace"))
            else:
                q = Query()
            self._query = q
        return q

    @query.setter
    def query(self, value):
        self._query = value


_HOSTNAME = "localhost"


def _read_settings():
    """(Re-)read what the runner takes from the environment."""
    global _HOSTNAME
    _HOSTNAME = os.getenv("HOSTNAME", "localhost")


_read_settings()


class Context:
    def __init__(self):
        self.hostname = _HOSTNAME


# --------------------------------------------------------------------------
# Response formatting (mirrors template/python3-http/index.py + Flask)
# --------------------------------------------------------------------------

class InvalidResponse(Exception):
    pass


def _http_date(value):
    import datetime
    import email.utils
    if not isinstance(value, datetime.datetime):
        value = datetime.datetime.combine(value, datetime.time(), tzinfo=datetime.timezone.utc)
    elif value.tzinfo is None:
        value = value.replace(tzinfo=datetime.timezone.utc)
    else:
        value = value.astimezone(datetime.timezone.utc)
    return email.utils.format_datetime(value, usegmt=True)


def _json_default(o):
    # Same extras as Flask's DefaultJSONProvider. Only called for values json
    # cannot encode itself, so the imports cost nothing on the common path.
    import datetime
    import decimal
    if isinstance(o, datetime.date):
        return _http_date(o)
    if isinstance(o, decimal.Decimal):
        return str(o)
    uuid = sys.modules.get("uuid")  # a UUID exists only once uuid is imported
    if uuid is not None and isinstance(o, uuid.UUID):
        return str(o)
    if not isinstance(o, type) and hasattr(type(o), "__dataclass_fields__"):
        import dataclasses
        if dataclasses.is_dataclass(o):
            return dataclasses.asdict(o)
    if hasattr(o, "__html__"):
        return str(o.__html__())
    raise TypeError("Object of type %s is not JSON serializable" % type(o).__name__)


_json_encode = None


def _json_encoder():
    # Flask's jsonify in production: compact separators, sorted keys, ASCII,
    # trailing newline, mimetype application/json.
    global _json_encode
    encode = _json_encode
    if encode is None:
        import json
        encode = _json_encode = json.JSONEncoder(
            ensure_ascii=True, sort_keys=True, separators=(",", ":"), default=_json_default).encode
    return encode


CT_HTML = "text/html; charset=utf-8"
CT_JSON = "application/json"
CT_BINARY = "application/octet-stream"
CT_TEXT = "text/plain; charset=utf-8"

_REASONS = None


def _reason(code):
    """The standard reason phrase of a status code (http.HTTPStatus), or None."""
    global _REASONS
    if code == 200:
        return "OK"
    reasons = _REASONS
    if reasons is None:
        import http
        reasons = _REASONS = {s.value: s.phrase for s in http.HTTPStatus}
    return reasons.get(code)


# RFC 9110 token characters (header names).
_TOKEN_CHARS = frozenset("!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
_HEX_DIGITS = b"0123456789abcdefABCDEF"
_HOP_BY_HOP = frozenset(("content-length", "transfer-encoding", "connection", "keep-alive"))


def _is_token(name):
    return bool(name) and _TOKEN_CHARS.issuperset(name)


def _to_json_bytes(obj):
    return (_json_encoder()(obj) + "\n").encode("ascii")


def _body_bytes(body):
    """Body of a dict response -> (bytes, default content type)."""
    if isinstance(body, dict):
        return _to_json_bytes(body), CT_JSON
    if isinstance(body, (bytes, bytearray, memoryview)):
        return body, CT_BINARY
    if isinstance(body, str):
        return body.encode("utf-8"), CT_HTML
    return str(body).encode("utf-8"), CT_HTML


def _plain_body(rv):
    """A body as Flask accepts it for a non-dict return -> (bytes, content type)."""
    if isinstance(rv, str):
        return rv.encode("utf-8"), CT_HTML
    if isinstance(rv, (bytes, bytearray, memoryview)):
        return rv, CT_BINARY
    if isinstance(rv, (dict, list)):
        return _to_json_bytes(rv), CT_JSON
    raise InvalidResponse("handler returned an unsupported value of type %s" % type(rv).__name__)


def _status(value):
    reason = None
    if isinstance(value, bool):
        raise InvalidResponse("invalid statusCode %r" % (value,))
    if isinstance(value, int):
        code = int(value)
    elif isinstance(value, (str, bytes, bytearray)):
        text = value.decode("latin-1") if not isinstance(value, str) else value
        head, _, rest = text.strip().partition(" ")
        try:
            code = int(head)
        except ValueError:
            raise InvalidResponse("invalid statusCode %r" % (value,)) from None
        rest = rest.strip()
        if rest and "\r" not in rest and "\n" not in rest:
            reason = rest
    else:
        raise InvalidResponse("invalid statusCode %r" % (value,))
    if not 100 <= code <= 999:
        raise InvalidResponse("invalid statusCode %r" % (value,))
    return code, reason or _reason(code) or "Unknown"


def _header_pairs(headers):
    """dict (values may be lists) or iterable of pairs -> list of (str, str)."""
    if headers is None:
        return []
    out = []
    if isinstance(headers, dict):
        items = headers.items()
    elif isinstance(headers, Headers):
        items = headers.items()
    else:
        items = headers
    for item in items:
        try:
            name, value = item
        except (TypeError, ValueError):
            raise InvalidResponse("headers must be a dict or a list of (name, value) pairs") from None
        if isinstance(value, (list, tuple)):
            for v in value:
                out.append((name, v))
        else:
            out.append((name, value))
    result = []
    for name, value in out:
        name = str(name)
        value = value.decode("latin-1") if isinstance(value, (bytes, bytearray)) else str(value)
        if not _is_token(name):
            raise InvalidResponse("invalid header name %r" % (name,))
        if "\r" in value or "\n" in value or "\0" in value:
            raise InvalidResponse("invalid value for header %r" % (name,))
        result.append((name, value))
    return result


def format_response(rv):
    """Handler return value -> (status, reason, header pairs, body bytes)."""
    headers = None
    if rv is None:
        return 200, "OK", [("Content-Type", CT_HTML)], b""
    if isinstance(rv, dict):
        if "statusCode" in rv:
            code, reason = _status(rv["statusCode"])
        else:
            code, reason = 200, "OK"
        if "body" in rv:
            body, ctype = _body_bytes(rv["body"])
        else:
            body, ctype = b"", CT_HTML
        headers = rv.get("headers")
    elif isinstance(rv, tuple):
        # Flask: (body, status, headers), (body, status) or (body, headers).
        status = None
        if len(rv) == 3:
            body, status, headers = rv
        elif len(rv) == 2:
            body, second = rv
            if isinstance(second, (dict, list, Headers)):
                headers = second
            else:
                status = second
        else:
            raise InvalidResponse("a returned tuple must be (body, status, headers), "
                                  "(body, status) or (body, headers)")
        if body is None:
            raise InvalidResponse("handler returned a tuple with a None body")
        body, ctype = _plain_body(body)
        code, reason = _status(status) if status is not None else (200, "OK")
    else:
        body, ctype = _plain_body(rv)
        code, reason = 200, "OK"

    pairs = _header_pairs(headers) if headers is not None else []
    if pairs:
        given = {n.lower() for n, _ in pairs}
        out = [] if "content-type" in given else [("Content-Type", ctype)]
        out.extend(pairs)
    else:
        out = [("Content-Type", ctype)]
    return code, reason, out, body


# --------------------------------------------------------------------------
# HTTP server
# --------------------------------------------------------------------------

class BadRequest(Exception):
    def __init__(self, status=400, message="Bad Request"):
        Exception.__init__(self, message)
        self.status = status
        self.message = message


def _read_chunked(rfile):
    chunks = []
    readline = rfile.readline
    read = rfile.read
    while True:
        line = readline(MAX_LINE + 1)
        if not line.endswith(b"\n"):
            raise BadRequest(400, "Bad Request: malformed chunked body")
        size_text = line.split(b";", 1)[0].strip()
        if not size_text or size_text.strip(_HEX_DIGITS):
            raise BadRequest(400, "Bad Request: malformed chunk size")
        size = int(size_text, 16)
        if size == 0:
            break
        data = read(size)
        if len(data) != size:
            raise BadRequest(400, "Bad Request: truncated chunked body")
        chunks.append(data)
        end = readline(3)
        if end not in (b"\r\n", b"\n"):
            raise BadRequest(400, "Bad Request: malformed chunked body")
    # trailer section
    for _ in range(MAX_HEADERS + 1):
        line = readline(MAX_LINE + 1)
        if line in (b"\r\n", b"\n", b""):
            break
    else:
        raise BadRequest(431, "Request Header Fields Too Large")
    if len(chunks) == 1:
        return chunks[0]
    return b"".join(chunks)


class RunnerRequestHandler(socketserver.StreamRequestHandler):
    """One client connection: HTTP/1.1 requests until either side closes it.

    The connection loop is the one of http.server.BaseHTTPRequestHandler; the
    request parsing is the runner's own (handle_one_request).
    """

    disable_nagle_algorithm = True
    timeout = IDLE_TIMEOUT

    handler = None  # set by main(), or by POST /_/specialise in warm mode

    def handle(self):
        self.close_connection = True
        self.handle_one_request()
        while not self.close_connection:
            self.handle_one_request()

    def _send(self, code, reason, headers, body, method, keep_alive):
        parts = ["HTTP/1.1 %d %s\r\n" % (code, reason)]
        no_body = code in (204, 304) or code < 200
        for name, value in headers:
            parts.append("%s: %s\r\n" % (name, value))
        if not no_body:
            parts.append("Content-Length: %d\r\n" % len(body))
        if not keep_alive:
            parts.append("Connection: close\r\n")
        elif self._http10:
            parts.append("Connection: keep-alive\r\n")
        parts.append("\r\n")
        head = "".join(parts)
        try:
            head = head.encode("latin-1")
        except UnicodeEncodeError:
            head = head.encode("utf-8")
        write = self.wfile.write
        if no_body or method == "HEAD" or not body:
            write(head)
        elif len(body) <= SMALL_BODY:
            write(head + bytes(body))
        else:
            write(head)
            write(body)

    def _error(self, status, message):
        body = message.encode("utf-8")
        self.close_connection = True
        try:
            self._send(status, _reason(status) or "Error",
                       [("Content-Type", CT_TEXT)], body, "GET", False)
        except OSError:
            pass

    def handle_one_request(self):
        self._http10 = False
        try:
            self._handle_one()
        except BadRequest as e:
            self._error(e.status, e.message)
        except (OSError, ValueError):
            # Connection reset, idle timeout, closed file: just drop it.
            self.close_connection = True

    def _handle_one(self):
        rfile = self.rfile
        line = rfile.readline(MAX_LINE + 1)
        if line in (b"\r\n", b"\n"):  # tolerate one stray CRLF between requests
            line = rfile.readline(MAX_LINE + 1)
        if not line:
            self.close_connection = True
            return
        if len(line) > MAX_LINE:
            raise BadRequest(414, "URI Too Long")
        parts = line.split()
        if len(parts) != 3:
            raise BadRequest(400, "Bad Request: malformed request line")
        method_b, target_b, version = parts
        if version == b"HTTP/1.1":
            http10 = False
        elif version == b"HTTP/1.0":
            http10 = True
        else:
            raise BadRequest(505, "HTTP Version Not Supported")
        self._http10 = http10
        method = method_b.decode("latin-1")
        target = target_b.decode("latin-1")

        # Headers: lower-case name -> value (duplicates joined with ", ").
        hdrs = {}
        readline = rfile.readline
        for _ in range(MAX_HEADERS + 1):
            hline = readline(MAX_LINE + 1)
            if hline in (b"\r\n", b"\n"):
                break
            if not hline:
                self.close_connection = True
                return
            if len(hline) > MAX_LINE:
                raise BadRequest(431, "Request Header Fields Too Large")
            name, sep, value = hline.partition(b":")
            if not sep or not name or name != name.strip() or hline[0] in b" \t":
                raise BadRequest(400, "Bad Request: malformed header line")
            key = name.decode("latin-1").lower()
            value = value.strip().decode("latin-1")
            prev = hdrs.get(key)
            hdrs[key] = value if prev is None else prev + ", " + value
        else:
            raise BadRequest(431, "Request Header Fields Too Large")

        conn = hdrs.get("connection")
        if conn is not None:
            tokens = [t.strip().lower() for t in conn.split(",")]
            if "close" in tokens:
                keep_alive = False
            else:
                keep_alive = not http10 or "keep-alive" in tokens
        else:
            keep_alive = not http10

        # Body
        te = hdrs.get("transfer-encoding")
        cl = hdrs.get("content-length")
        if te is not None:
            codings = [t.strip().lower() for t in te.split(",")]
            if codings[-1] != "chunked" or http10:
                raise BadRequest(400, "Bad Request: unsupported transfer-encoding")
            if cl is not None:  # RFC 9112 6.1: don't trust the pair; close after
                keep_alive = False
            self._maybe_continue(hdrs, http10)
            body = _read_chunked(rfile)
        elif cl is not None:
            if not cl.isdigit():
                # "5, 5" from duplicate identical headers is tolerated
                values = {v.strip() for v in cl.split(",")}
                if len(values) != 1 or not next(iter(values)).isdigit():
                    raise BadRequest(400, "Bad Request: invalid Content-Length")
                cl = values.pop()
            length = int(cl)
            if length:
                self._maybe_continue(hdrs, http10)
                body = rfile.read(length)
                if len(body) != length:
                    self.close_connection = True
                    return
            else:
                body = b""
        else:
            body = b""

        self.close_connection = not keep_alive

        # Target -> path + query string
        if target[:1] != "/":
            if target == "*":
                path_raw, qs = "*", ""
            else:
                from urllib.parse import urlsplit
                split = urlsplit(target)
                path_raw, qs = split.path or "/", split.query
        else:
            path_raw, _, qs = target.partition("?")

        if path_raw == HEALTH_PATH and (method == "GET" or method == "HEAD"):
            self._send(200, "OK", [("Content-Type", CT_TEXT)], b"OK", method, keep_alive)
            return

        handler = self.handler
        if _warm is not None:
            if path_raw == SPECIALISE_PATH and method == "POST":
                _warm.specialise(self, body, keep_alive)
                return
            if handler is None:
                self._send(503, "Service Unavailable", [("Content-Type", CT_TEXT)],
                           b"instance not specialised yet", method, keep_alive)
                return

        if "%" in path_raw:
            from urllib.parse import unquote
            path = unquote(path_raw, errors="replace")
        else:
            path = path_raw
        event = Event(body, Headers(hdrs), method, path, qs)
        try:
            rv = handler(event, Context())
        except BadRequestKeyError as e:
            # Flask turns an uncaught werkzeug BadRequestKeyError into a 400.
            rv = (("Bad Request: missing key %s" % (e,)), 400, [("Content-Type", CT_TEXT)])
        except BaseException as e:  # noqa: B902 - includes SystemExit from the handler
            if isinstance(e, KeyboardInterrupt):
                raise
            rv = self._handler_failed(method, path_raw, qs, e, False)
        try:
            code, reason, headers, out = format_response(rv)
        except Exception as e:
            code, reason, headers, out = format_response(self._handler_failed(method, path_raw, qs, e, True))

        for name, value in headers:
            if name.lower() in _HOP_BY_HOP:
                break
        else:
            self._send(code, reason, headers, out, method, keep_alive)
            return
        kept = []
        for name, value in headers:
            lname = name.lower()
            if lname == "connection" and "close" in value.lower():
                keep_alive = False
                self.close_connection = True
            if lname not in _HOP_BY_HOP:
                kept.append((name, value))
        self._send(code, reason, kept, out, method, keep_alive)

    def _handler_failed(self, method, path, qs, exc, in_response):
        import traceback
        kind = type(exc).__name__
        target = path + ("?" + qs if qs else "")
        tb = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
        if in_response:
            msg = "Internal Server Error: handler returned an invalid response"
            _log("%s: %s %s: handler returned an invalid response (%s: %s)\n%s" % (
                PREFIX, method, target, kind, exc, tb))
        else:
            msg = "Internal Server Error: handler raised %s" % kind
            _log("%s: %s %s: handler raised %s\n%s" % (PREFIX, method, target, kind, tb))
        return (msg, 500, [("Content-Type", CT_TEXT)])

    def _maybe_continue(self, hdrs, http10):
        expect = hdrs.get("expect")
        if expect is not None and not http10 and expect.lower() == "100-continue":
            self.wfile.write(b"HTTP/1.1 100 Continue\r\n\r\n")


class RunnerServer(socketserver.ThreadingMixIn, socketserver.TCPServer):
    """http.server.ThreadingHTTPServer without its socket.getfqdn() (a DNS lookup)."""

    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 1024

    def server_bind(self):
        socketserver.TCPServer.server_bind(self)
        host, port = self.server_address[:2]
        self.server_name = host
        self.server_port = port

    def handle_error(self, request, client_address):
        exc = sys.exc_info()[1]
        if isinstance(exc, (OSError, ValueError)):
            return
        import traceback
        _log("%s: connection error: %s" % (PREFIX, traceback.format_exc()))


# --------------------------------------------------------------------------
# Startup
# --------------------------------------------------------------------------

def load_handler(function_dir):
    """Import <function_dir>/handler.py as module ``function.handler``.

    The directory is set up as the ``function`` package (as in the template,
    where index.py does ``from function import handler``) so relative imports
    inside the handler keep working; it is also appended to sys.path so plain
    ``import helper`` of sibling modules works.
    """
    handler_file = os.path.join(function_dir, "handler.py")
    if not os.path.isfile(handler_file):
        raise FileNotFoundError("handler file %s not found" % handler_file)
    if function_dir not in sys.path:
        sys.path.append(function_dir)
    init_file = os.path.join(function_dir, "__init__.py")
    for name in [m for m in sys.modules if m == "function" or m.startswith("function.")]:
        del sys.modules[name]
    if os.path.isfile(init_file):
        from importlib.util import module_from_spec, spec_from_file_location
        spec = spec_from_file_location(
            "function", init_file, submodule_search_locations=[function_dir])
        pkg = module_from_spec(spec)
        sys.modules["function"] = pkg
        spec.loader.exec_module(pkg)
    else:
        pkg = type(sys)("function")  # types.ModuleType
        pkg.__path__ = [function_dir]
        pkg.__file__ = None
        sys.modules["function"] = pkg
    module = importlib.import_module("function.handler")
    handle = getattr(module, "handle", None)
    if handle is None:
        raise AttributeError("%s does not define handle(event, context)" % handler_file)
    if not callable(handle):
        raise TypeError("%s: 'handle' is not callable" % handler_file)
    return handle


def _on_signal(signum, frame):
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    finally:
        os._exit(0)


def _load_failed(function_dir, exc):
    import traceback
    _log("%s: failed to load handler from %s: %s: %s\n%s" % (
        PREFIX, function_dir, type(exc).__name__, exc, traceback.format_exc()))


# --------------------------------------------------------------------------
# Readiness signal ($SWIFTLET_READY_FD)
# --------------------------------------------------------------------------

def _take_ready_fd():
    """The descriptor named by $SWIFTLET_READY_FD, or None.

    The variable is removed from the environment either way, so the handler
    (and what it starts) never sees it.
    """
    text = os.environ.pop("SWIFTLET_READY_FD", None)
    if not text or not (text.isascii() and text.isdigit()):
        return None
    fd = int(text)
    if fd > 2:
        try:
            if not os.get_inheritable(fd):
                return None  # opened by this process (PEP 446), not inherited
            # Not to processes the handler may start while it is loaded.
            os.set_inheritable(fd, False)
        except (OSError, OverflowError, ValueError):
            return None  # not an open descriptor
    return fd


def _signal_ready(fd):
    """Write ``ready\n`` to the ready descriptor and close it; never fails."""
    if fd is None:
        return
    data = b"ready\n"
    try:
        while data:
            written = os.write(fd, data)
            if written <= 0:
                break
            data = data[written:]
    except (OSError, OverflowError, ValueError):
        pass  # EBADF, EPIPE, ...: the platform falls back to probing
    try:
        if fd == 0:
            # stdin: point it at /dev/null rather than leave fd 0 free for the
            # next open() (sys.stdin still refers to it).
            null = os.open(os.devnull, os.O_RDONLY)
            if null != 0:
                os.dup2(null, 0)
                os.close(null)
        elif fd > 2:
            os.close(fd)
        # fd 1 or 2 are the log streams: written to, but left open.
    except OSError:
        pass


# --------------------------------------------------------------------------
# Warm (pool) mode
# --------------------------------------------------------------------------

_warm = None  # the _WarmState of a runner started with SWIFTLET_WARM=1


class _SpecialiseError(Exception):
    pass


def _parse_specialise(body):
    """Body of POST /_/specialise -> (env, functionDir or None, pythonPath or None)."""
    import json
    try:
        doc = json.loads(body)
    except (ValueError, RecursionError):  # includes UnicodeDecodeError
        raise _SpecialiseError("body is not valid JSON") from None
    if not isinstance(doc, dict):
        raise _SpecialiseError("body must be a JSON object")
    env = doc.get("env")
    if env is None:
        env = {}
    elif not isinstance(env, dict):
        raise _SpecialiseError('"env" must be an object of strings')
    for key, value in env.items():
        if not isinstance(value, str):
            raise _SpecialiseError('"env" value of %s is not a string' % json.dumps(key[:200]))
        if not key or "=" in key or "\0" in key or "\0" in value:
            raise _SpecialiseError('invalid environment variable %s' % json.dumps(key[:200]))
        try:
            os.fsencode(key)
            os.fsencode(value)
        except UnicodeError:
            raise _SpecialiseError('invalid environment variable %s' % json.dumps(key[:200])) from None
    function_dir = doc.get("functionDir")
    if function_dir is not None and (not isinstance(function_dir, str) or not function_dir
                                     or "\0" in function_dir):
        raise _SpecialiseError('"functionDir" must be a non-empty string')
    python_path = doc.get("pythonPath")
    if python_path is not None:
        if not isinstance(python_path, list) or not all(
                isinstance(p, str) and p and "\0" not in p for p in python_path):
            raise _SpecialiseError('"pythonPath" must be a list of non-empty strings')
    return env, function_dir, python_path


def _apply_environment(env, function_dir, python_path):
    """Make the process look as if it had been started with ``env``.

    Returns the function directory to load the handler from.
    """
    for key, value in env.items():
        os.environ[key] = value
    os.environ.pop("SWIFTLET_WARM", None)
    os.environ.pop("SWIFTLET_READY_FD", None)
    os.environ["PYTHONUNBUFFERED"] = "1"  # as _unbuffered_stdio() does at start
    _read_settings()

    # What the interpreter takes from the environment at start, where it can
    # be redone: PYTHONPATH (pythonPath wins when given), PYTHONDONTWRITEBYTECODE, TZ.
    if python_path is None:
        python_path = [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p]
    entries = []
    for entry in python_path:
        entry = os.path.abspath(entry)
        if entry not in entries:
            entries.append(entry)
    if entries:
        sys.path[:] = entries + [p for p in sys.path if p not in entries]
    if os.environ.get("PYTHONDONTWRITEBYTECODE"):
        sys.dont_write_bytecode = True
    import time
    time.tzset()
    importlib.invalidate_caches()
    try:
        # A directory mounted over the working directory since the start
        # (the function's code) only shows through a fresh chdir.
        os.chdir(os.getcwd())
    except OSError:
        pass
    return os.path.abspath(function_dir or os.environ.get("SWIFTLET_FUNCTION_DIR") or "/home/app/function")


class _WarmState:
    """Specialisation of a warm runner.

    The request is validated on its connection thread; the environment is
    applied and the handler imported on the main thread (as in normal mode:
    signal.signal() and friends work at import time), which waits for jobs in
    run().
    """

    def __init__(self, port):
        self.port = port
        self.lock = threading.Lock()  # held while a specialisation runs
        self.done = False
        self._wake = threading.Event()
        self._job = None

    def run(self):
        """Main thread: run specialisation jobs; never returns."""
        while True:
            self._wake.wait()
            self._wake.clear()
            job, self._job = self._job, None
            if job is not None:
                job()

    def _on_main_thread(self, fn):
        """Run fn() on the main thread (in run()) and return its result."""
        result = []
        finished = threading.Event()

        def job():
            try:
                result.append(fn())
            finally:
                finished.set()

        self._job = job
        self._wake.set()
        finished.wait()
        return result[0]

    def specialise(self, req, body, keep_alive):
        if self.done or not self.lock.acquire(blocking=False):
            message = b"already specialised" if self.done else b"specialisation in progress"
            req._send(409, "Conflict", [("Content-Type", CT_TEXT)], message, "POST", keep_alive)
            return
        if self.done:
            self.lock.release()
            req._send(409, "Conflict", [("Content-Type", CT_TEXT)], b"already specialised", "POST", keep_alive)
            return
        try:
            env, function_dir, python_path = _parse_specialise(body)
        except _SpecialiseError as e:
            self.lock.release()
            req._send(400, "Bad Request", [("Content-Type", CT_TEXT)],
                      ("bad specialise request: %s" % e).encode("utf-8"), "POST", keep_alive)
            return

        def load():
            # On the main thread. Failures are logged here, where the
            # traceback is at hand, in the same format as in normal mode.
            loaded_from = function_dir or "?"
            try:
                loaded_from = _apply_environment(env, function_dir, python_path)
                return loaded_from, load_handler(loaded_from), None
            except BaseException as e:  # noqa: B902 - SystemExit at import is a load failure too
                try:
                    _load_failed(loaded_from, e)
                except Exception:
                    pass
                return loaded_from, None, e

        function_dir, handle, error = self._on_main_thread(load)
        if error is not None:
            self._fail(req, error)  # does not return

        RunnerRequestHandler.handler = staticmethod(handle)
        self.done = True
        self.lock.release()
        _log("%s: handler loaded from %s, listening on 127.0.0.1:%d" % (PREFIX, function_dir, self.port))
        req._send(200, "OK", [("Content-Type", CT_JSON)], b'{"status":"ready"}', "POST", keep_alive)

    def _fail(self, req, exc):
        """Answer 500 and exit with code 3 once the answer is out."""
        try:
            message = " ".join(("%s: %s" % (type(exc).__name__, exc)).split())[:1000]
        except Exception:
            message = type(exc).__name__
        try:
            req._send(500, "Internal Server Error", [("Content-Type", CT_TEXT)],
                      ("failed to load handler: %s" % message).encode("utf-8", "replace"), "POST", False)
            conn = req.connection
            conn.shutdown(1)  # SHUT_WR: the answer, then end of stream
            # Unread input would turn the close at exit into a reset that can
            # destroy the answer on its way: drop what has arrived.
            conn.setblocking(False)
            while conn.recv(65536):
                pass
        except OSError:
            pass
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        finally:
            os._exit(3)


def _preload():
    """Warm mode: import now what normal mode imports on first use."""
    import dataclasses  # noqa: F401
    import datetime  # noqa: F401
    import decimal  # noqa: F401
    import email.utils  # noqa: F401
    import importlib.util  # noqa: F401
    import json  # noqa: F401
    import time  # noqa: F401
    import traceback  # noqa: F401
    import urllib.parse  # noqa: F401
    import uuid  # noqa: F401
    _json_encoder()
    _reason(404)


def _serve(server):
    try:
        server.serve_forever(poll_interval=3600)
    except BaseException as e:  # noqa: B902
        _log("%s: server stopped: %s: %s" % (PREFIX, type(e).__name__, e))
        os._exit(1)


# --------------------------------------------------------------------------
# Main
# --------------------------------------------------------------------------

def _start_debugger():
    """Debug mode (``$SWIFTLET_DEBUGPY_PORT``): debugpy listens on 127.0.0.1:PORT inside the
    sandbox when it is importable; without it the runner serves as usual and says so."""
    port_text = os.environ.pop("SWIFTLET_DEBUGPY_PORT", "")
    if not port_text:
        return
    try:
        port = int(port_text)
        import debugpy
    except (ValueError, ImportError) as e:
        _log("%s: debug mode, but the debugger is unavailable (%s); install debugpy "
             "(pip install debugpy) to attach one" % (PREFIX, e))
        return
    try:
        debugpy.listen(("127.0.0.1", port))
    except Exception as e:  # noqa: BLE001 - a debugger that fails must not stop the function
        _log("%s: debug mode, but debugpy cannot listen on 127.0.0.1:%d: %s" % (PREFIX, port, e))
        return
    _log("%s: debugpy listening on 127.0.0.1:%d" % (PREFIX, port))


def main():
    global _warm
    ready_fd = _take_ready_fd()
    warm = os.environ.get("SWIFTLET_WARM") == "1"
    function_dir = os.path.abspath(os.environ.get("SWIFTLET_FUNCTION_DIR") or "/home/app/function")
    port_text = os.environ.get("SWIFTLET_RUNNER_PORT") or "8080"
    try:
        port = int(port_text)
        if not 0 <= port <= 65535:
            raise ValueError
    except ValueError:
        _log("%s: invalid SWIFTLET_RUNNER_PORT %r" % (PREFIX, port_text))
        return 2

    # The runner's own directory must not shadow the user's modules.
    here = os.path.dirname(os.path.abspath(__file__))
    if sys.path and os.path.abspath(sys.path[0] or ".") == here:
        del sys.path[0]

    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGINT, _on_signal)

    _start_debugger()

    if warm:
        _preload()
    else:
        try:
            handle = load_handler(function_dir)
        except BaseException as e:  # noqa: B902 - SystemExit in a handler is a load failure too
            if isinstance(e, KeyboardInterrupt):
                raise
            _load_failed(function_dir, e)
            return 3
        RunnerRequestHandler.handler = staticmethod(handle)

    try:
        server = RunnerServer(("127.0.0.1", port), RunnerRequestHandler)
    except OSError as e:
        _log("%s: cannot listen on 127.0.0.1:%d: %s" % (PREFIX, port, e))
        return 1

    if warm:
        _warm = _WarmState(server.server_port)
        threading.Thread(target=_serve, args=(server,), name="swiftlet-server", daemon=True).start()
        _log("%s: warm, listening on 127.0.0.1:%d" % (PREFIX, server.server_port))
        _signal_ready(ready_fd)
        _warm.run()  # the main thread imports the handler on POST /_/specialise; never returns

    _log("%s: handler loaded from %s, listening on 127.0.0.1:%d" % (PREFIX, function_dir, server.server_port))
    _signal_ready(ready_fd)
    try:
        server.serve_forever(poll_interval=3600)
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
