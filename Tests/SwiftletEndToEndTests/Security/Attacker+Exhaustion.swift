extension Attacker {
    /// The attacker's resource exhaustion paths (each answers `{"error": errno name, "count": how
    /// far it got}`) and its `handle`, which dispatches on the path.
    static let exhaustion = #"""
        # --- resource exhaustion -----------------------------------------------------------
        def bomb():
            pids, error = [], "none"
            try:
                while len(pids) < 100000:
                    pid = os.fork()
                    if pid == 0:
                        # exec at once: a forked Python dirtying its pages would make memory, not
                        # the pids limit, what stops the bomb.
                        os.execv("/bin/sleep", ["sleep", "30"])
                    pids.append(pid)
            except OSError as e:
                error = name_of(e.errno)
            for pid in pids:
                os.kill(pid, 9)
                os.waitpid(pid, 0)
            return {"error": error, "count": len(pids)}

        def fds():
            opened, error = [], "none"
            try:
                while len(opened) < 1000000:
                    opened.append(os.open("/dev/null", os.O_RDONLY))
            except OSError as e:
                error = name_of(e.errno)
            for fd in opened:
                os.close(fd)
            return {"error": error, "count": len(opened)}

        def fill():
            written, error, chunk = 0, "none", b"\0" * (1 << 20)
            try:
                with open("/tmp/fill", "wb") as f:
                    while written < (4 << 30):
                        written += f.write(chunk)
                        f.flush()
            except OSError as e:
                error = name_of(e.errno)
            finally:
                try:
                    os.unlink("/tmp/fill")
                except OSError:
                    pass
            return {"error": error, "count": written}

        def spin(seconds):
            children = []
            deadline = time.time() + seconds
            for _ in range(max(4, 2 * (os.cpu_count() or 1))):
                pid = os.fork()
                if pid == 0:
                    while time.time() < deadline:
                        pass
                    os._exit(0)
                children.append(pid)
            for pid in children:
                os.waitpid(pid, 0)
            return {"error": "none", "count": len(children)}

        def hog():
            blocks = [bytearray(1 << 20) for _ in range(4096)]
            return {"error": "survived", "count": len(blocks)}

        def handle(event, context):
            path = event.path
            if path == "/escape":
                return {"statusCode": 200, "body": escape(event.query)}
            if path == "/whoami":
                return {"statusCode": 200, "body": os.uname().nodename}
            if path == "/bomb":
                return {"statusCode": 200, "body": bomb()}
            if path == "/fds":
                return {"statusCode": 200, "body": fds()}
            if path == "/fill":
                return {"statusCode": 200, "body": fill()}
            if path == "/spin":
                return {"statusCode": 200, "body": spin(float(event.query.get("s", "3")))}
            if path == "/hog":
                return {"statusCode": 200, "body": hog()}
            return {"statusCode": 200, "body": "calm"}
        """#
}
