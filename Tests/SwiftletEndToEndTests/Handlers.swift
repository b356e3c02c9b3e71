/// Handler sources the end-to-end tests deploy.
enum Handlers {
    /// Echoes what the handler sees; the body comes back as hex and sha256.
    static let pythonEcho = #"""
        import hashlib, json
        def handle(event, context):
            body = event.body or b""
            return {
                "statusCode": int(event.headers.get("X-Want-Status") or 200),
                "headers": {"X-Echo-Method": event.method, "Content-Type": "application/json"},
                "body": {
                    "method": event.method,
                    "path": event.path,
                    "query": dict(event.query),
                    "headers": {k.lower(): v for k, v in event.headers.items()},
                    "length": len(body),
                    "sha256": hashlib.sha256(body).hexdigest(),
                    "hex": body[:64].hex(),
                },
            }
        """#

    /// Returns the body unchanged (binary in, binary out).
    static let pythonMirror = #"""
        def handle(event, context):
            return {"statusCode": 200, "body": event.body, "headers": {"Content-Type": "application/octet-stream"}}
        """#

    static let nodeEcho = #"""
        const crypto = require('crypto');
        module.exports = async (event, context) => {
          const raw = Buffer.isBuffer(event.body) ? event.body : Buffer.from(typeof event.body === 'string' ? event.body : JSON.stringify(event.body));
          return context.status(200).headers({'Content-Type': 'application/json', 'X-Runtime': 'node'}).succeed({
            method: event.method, path: event.path, query: event.query, headers: event.headers,
            body: event.body, length: raw.length, sha256: crypto.createHash('sha256').update(raw).digest('hex')
          });
        };
        """#

    static func version(_ text: String) -> String {
        """
        def handle(event, context):
            return {"statusCode": 200, "body": "\(text)"}
        """
    }

    static let raises = #"""
        def handle(event, context):
            raise ValueError("boom from the handler")
        """#

    static let crashes = #"""
        import os
        def handle(event, context):
            if event.path == "/crash":
                os._exit(7)
            return {"statusCode": 200, "body": "alive"}
        """#

    static let sleeps = #"""
        import time
        def handle(event, context):
            time.sleep(float(event.query.get("s", "0")))
            return {"statusCode": 200, "body": "slept"}
        """#

    /// Python helpers for probes: `attempt(fn)` answers "ok" or the errno name of what `fn`
    /// raised; `read`, `write` and `connect` (to 127.0.0.1) are the usual attempts.
    static let attempts = #"""
        import errno, json, os, socket
        def attempt(fn):
            try:
                fn()
                return "ok"
            except OSError as e:
                return errno.errorcode.get(e.errno, str(e.errno))
            except Exception as e:
                return type(e).__name__
        def read(path):
            with open(path, "rb") as f:
                f.read(1)
        def write(path):
            with open(path, "w") as f:
                f.write("x")
        def connect(port):
            s = socket.create_connection(("127.0.0.1", port), timeout=2)
            s.close()

        """#

    /// Reports what the sandbox looks like from inside.
    static let probe = attempts + #"""
        def handle(event, context):
            status = {}
            for line in open("/proc/self/status"):
                key, _, value = line.partition(":")
                status[key] = value.strip()
            target = event.query.get("read", "/nonexistent")
            port = int(event.query.get("port", "1"))
            def unshare(flag):
                import ctypes
                libc = ctypes.CDLL(None, use_errno=True)
                if libc.unshare(flag) != 0:
                    raise OSError(ctypes.get_errno(), "unshare")
            def mount():
                import ctypes
                libc = ctypes.CDLL(None, use_errno=True)
                if libc.mount(b"tmpfs", b"/tmp", b"tmpfs", 0, None) != 0:
                    raise OSError(ctypes.get_errno(), "mount")
            return {"statusCode": 200, "body": {
                "uid": os.getuid(), "gid": os.getgid(),
                "CapEff": status.get("CapEff"), "CapPrm": status.get("CapPrm"), "CapBnd": status.get("CapBnd"),
                "NoNewPrivs": status.get("NoNewPrivs"), "Seccomp": status.get("Seccomp"),
                "netdev": [l.split(":")[0].strip() for l in open("/proc/net/dev").read().splitlines()[2:]],
                "routes": open("/proc/net/route").read().splitlines()[1:],
                "shadow": attempt(lambda: read("/etc/shadow")),
                "target": attempt(lambda: read(target)),
                "proc1root": attempt(lambda: os.listdir("/proc/1/root/root")),
                "kcore": attempt(lambda: read("/proc/kcore")),
                "write_code": attempt(lambda: write("/home/app/function/new.txt")),
                "write_root": attempt(lambda: write("/evil")),
                "write_usr": attempt(lambda: write("/usr/evil")),
                "write_tmp": attempt(lambda: write("/tmp/ok")),
                "unshare_user": attempt(lambda: unshare(0x10000000)),
                "unshare_net": attempt(lambda: unshare(0x40000000)),
                "mount": attempt(mount),
                "connect_host_port": attempt(lambda: connect(port)),
                "hostname": os.uname().nodename,
            }}
        """#
}
