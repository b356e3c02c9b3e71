/// Helper programs the registry tests write to disk and run.
enum RegistryFixtureScripts {
    /// A token server for docker-registry's `auth: token`, Python stdlib only: it signs RS256 JWTs
    /// with `openssl dgst` and puts the certificate in the `x5c` header, which the registry checks
    /// against its `rootcertbundle`. Arguments: key, certificate, issuer, user, password (user ""
    /// accepts anyone), the JSON field for the token, and the port file.
    static let tokenServer = #"""
        import base64, http.server, json, os, signal, subprocess, sys, time, urllib.parse, uuid

        # The test stops this server with SIGTERM, which the spawning thread may have blocked.
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM, signal.SIGINT})

        key, cert, issuer, user, password, field, port_file = sys.argv[1:8]
        der = subprocess.run(["openssl", "x509", "-in", cert, "-outform", "DER"], capture_output=True, check=True).stdout


        def b64(data):
            return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                sys.stdout.write(self.path + "\n")
                sys.stdout.flush()
                query = urllib.parse.parse_qs(urllib.parse.urlparse(self.path).query)
                if user:
                    expected = "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()
                    if self.headers.get("Authorization") != expected:
                        self.send_response(401)
                        self.send_header("Content-Length", "0")
                        self.end_headers()
                        return
                access = []
                for scope in query.get("scope", [""])[0].split(" "):
                    parts = scope.split(":")
                    if len(parts) >= 3:
                        access.append({"type": parts[0], "name": ":".join(parts[1:-1]), "actions": parts[-1].split(",")})
                now = int(time.time())
                header = {"typ": "JWT", "alg": "RS256", "x5c": [base64.b64encode(der).decode()]}
                claims = {"iss": issuer, "sub": user or "anonymous", "aud": query.get("service", [""])[0],
                          "exp": now + 600, "nbf": now - 60, "iat": now, "jti": uuid.uuid4().hex, "access": access}
                signing = b64(json.dumps(header).encode()) + "." + b64(json.dumps(claims).encode())
                signature = subprocess.run(["openssl", "dgst", "-sha256", "-sign", key], input=signing.encode(),
                                           capture_output=True, check=True).stdout
                body = json.dumps({field: signing + "." + b64(signature), "expires_in": 600}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format, *args):
                pass


        server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
        with open(port_file + ".tmp", "w") as f:
            f.write(str(server.server_address[1]))
        os.rename(port_file + ".tmp", port_file)
        server.serve_forever()
        """#

    /// A fake registry (Python stdlib) for what docker-registry will not do: it serves the file
    /// `ROOT/<path>` for `GET <path>`; `<file>.type` holds its Content-Type, `<file>.digest` its
    /// Docker-Content-Digest, `<file>.redirect` a Location to answer 307 with, and `<file>.close`
    /// asks for a body without Content-Length (ended by closing the connection). Prints each
    /// request path. Arguments: root, port file.
    static let fakeRegistry = #"""
        import http.server, os, signal, sys

        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM, signal.SIGINT})
        root, port_file = os.path.realpath(sys.argv[1]), sys.argv[2]


        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                sys.stdout.write(self.path + "\n")
                sys.stdout.flush()
                path = os.path.normpath(root + self.path.split("?")[0])
                if not path.startswith(root) or not (os.path.isfile(path) or os.path.isfile(path + ".redirect")):
                    self.send_response(404)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                if os.path.isfile(path + ".redirect"):
                    self.send_response(307)
                    self.send_header("Location", open(path + ".redirect").read())
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                body = open(path, "rb").read()
                self.send_response(200)
                for suffix, header in ((".type", "Content-Type"), (".digest", "Docker-Content-Digest")):
                    if os.path.isfile(path + suffix):
                        self.send_header(header, open(path + suffix).read())
                if not os.path.isfile(path + ".close"):
                    self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format, *args):
                pass


        server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
        with open(port_file + ".tmp", "w") as f:
            f.write(str(server.server_address[1]))
        os.rename(port_file + ".tmp", port_file)
        server.serve_forever()
        """#
}
