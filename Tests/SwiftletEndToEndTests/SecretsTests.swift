import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import SwiftletSandbox
import Testing

extension EndToEnd {
    /// Secrets end to end: created with the real CLI, mounted into real sandboxes, rolled on
    /// update, guarded on delete, and never shown or logged.
    @Suite("End to end: secrets")
    struct SecretsTests {
        /// Reads the secrets named in the query `names` (comma-separated) and tries to write
        /// into the secrets directory.
        static let reader = Handlers.attempts + #"""
            import base64
            DIR = "/var/openfaas/secrets"
            def create():
                with open(DIR + "/intruder", "w") as f:
                    f.write("x")
            def overwrite():
                with open(DIR + "/lit", "a") as f:
                    f.write("x")
            def handle(event, context):
                out = {"uid": os.getuid()}
                for name in event.query.get("names", "").split(","):
                    try:
                        st = os.stat(DIR + "/" + name)
                        with open(DIR + "/" + name, "rb") as f:
                            data = f.read()
                        out[name] = {"value": base64.b64encode(data).decode(), "mode": st.st_mode & 0o7777, "uid": st.st_uid}
                    except OSError as e:
                        out[name] = {"error": errno.errorcode.get(e.errno, str(e.errno))}
                try:
                    out["listing"] = sorted(os.listdir(DIR))
                except OSError as e:
                    out["listing"] = errno.errorcode.get(e.errno, str(e.errno))
                out["create"] = attempt(create)
                out["append"] = attempt(overwrite)
                out["remove"] = attempt(lambda: os.remove(DIR + "/lit"))
                return {"statusCode": 200, "body": out}
            """#

        /// The value the reader function reports for `name`, decoded, with its mode and owner.
        static func read(_ answer: TestPlatform.Answer, _ name: String) throws -> (value: Data, mode: Int, uid: Int)? {
            guard let entry = try answer.json()[name] as? [String: Any], let base64 = entry["value"] as? String,
                let value = Data(base64Encoded: base64), let mode = entry["mode"] as? Int, let uid = entry["uid"] as? Int
            else { return nil }
            return (value, mode, uid)
        }

        @Test("CLI-created secrets reach the function read-only, 0400, owned by its uid; update rolls; delete is guarded (new and warm sandboxes)", arguments: [false, true])
        func secretsReachTheFunction(pooled: Bool) async throws {
            try await TestPlatform.with(warmPool: pooled ? .default : .disabled) { platform in
                let env = ["SWIFTLET_URL": platform.baseURL, "SWIFTLET_USER": "admin", "SWIFTLET_PASSWORD": platform.credentials.password]
                let literal = "literal-\(UUID().uuidString)"
                let fileMarker = "file-\(UUID().uuidString)"
                let fileValue = Data([0x00, 0x01, 0xFF, 0x0A]) + Data(fileMarker.utf8) + Data([0x00])
                let pipedMarker = "piped-\(UUID().uuidString)"
                let piped = pipedMarker + "\n"
                let updated = "updated-\(UUID().uuidString)"
                // What must never show: each value's distinctive text and each value in base64.
                let markers = [literal, fileMarker, pipedMarker, updated]
                let values = [Data(literal.utf8), fileValue, Data(piped.utf8), Data(updated.utf8)]
                let file = platform.dataDirectory + "-secret.bin"
                try fileValue.write(to: URL(fileURLWithPath: file))
                defer { try? FileManager.default.removeItem(atPath: file) }
                var outputs: [String] = []
                func cli(_ arguments: [String], stdin: String? = nil) async throws -> SwiftletBinary.Result {
                    let result = try await SwiftletBinary.run(arguments, environment: env, stdin: stdin)
                    outputs += [result.stdout, result.stderr]
                    return result
                }

                // Create: literal, file (binary, as rawValue), stdin (byte for byte).
                let createLiteral = try await cli(["secret", "create", "lit", "--from-literal", literal])
                #expect(createLiteral.status == 0, "\(createLiteral.stderr)")
                #expect(createLiteral.stdout == "created secret lit\n")
                let createFile = try await cli(["secret", "create", "file", "--from-file", file])
                #expect(createFile.status == 0, "\(createFile.stderr)")
                let createPiped = try await cli(["secret", "create", "piped"], stdin: piped)
                #expect(createPiped.status == 0, "\(createPiped.stderr)")
                let duplicate = try await cli(["secret", "create", "lit", "--from-literal", "other"])
                #expect(duplicate.status != 0)
                #expect(duplicate.stderr.contains("'lit' already exists"), "\(duplicate.stderr)")
                #expect(duplicate.stderr.split(separator: "\n").count == 1)
                let both = try await cli(["secret", "create", "both", "--from-literal", "x", "--from-file", file])
                #expect(both.status != 0)
                #expect(both.stderr.contains("not both"), "\(both.stderr)")
                let badName = try await cli(["secret", "create", "../etc", "--from-literal", "x"])
                #expect(badName.status != 0)
                #expect(badName.stderr.contains("invalid secret name"), "\(badName.stderr)")
                let list = try await cli(["secret", "list"])
                #expect(list.status == 0, "\(list.stderr)")
                let rows = list.stdout.split(separator: "\n").map { $0.split(separator: " ").map(String.init) }
                #expect(rows == [["NAME", "NAMESPACE"], ["file", "openfaas-fn"], ["lit", "openfaas-fn"], ["piped", "openfaas-fn"]], "\(list.stdout)")

                // A deployment naming a missing secret is refused before anything is stored.
                let missing = try await platform.deploy(
                    "reader", runtime: "python3", code: Data(Self.reader.utf8), extra: ["secrets": ["lit", "missing-one"]]
                )
                #expect(missing.status == 400)
                #expect(missing.text == "secret 'missing-one' not found; create it with `swiftlet secret create missing-one`\n")
                #expect(try await platform.store.function(named: "reader") == nil)

                try await platform.deployOK("reader", runtime: "python3", source: Self.reader, extra: ["secrets": ["lit", "file", "piped"]])
                let first = try await platform.call("reader", path: "?names=lit,file,piped")
                #expect(first.status == 200, "\(first.text)")
                let json = try first.json()
                #expect(json["uid"] as? Int == 10001)
                for (name, expected) in [("lit", Data(literal.utf8)), ("file", fileValue), ("piped", Data(piped.utf8))] {
                    let secret = try Self.read(first, name)
                    #expect(secret?.value == expected, "\(name): \(String(describing: json[name]))")
                    #expect(secret?.mode == 0o400, "\(name): mode \(String(secret?.mode ?? -1, radix: 8))")
                    #expect(secret?.uid == 10001, "\(name) is owned by the function's uid")
                }
                #expect(json["listing"] as? [String] == ["file", "lit", "piped"])
                for attempt in ["create", "append", "remove"] {
                    let outcome = json[attempt] as? String
                    #expect(outcome == "EROFS" || outcome == "EACCES", "\(attempt) in the secrets directory: \(outcome ?? "nil")")
                }

                // Update: the function is rolled and answers the new value.
                let update = try await cli(["secret", "update", "lit", "--from-literal", updated])
                #expect(update.status == 0, "\(update.stderr)")
                #expect(update.stdout == "updated secret lit\n")
                let rolled = try await eventually(timeout: .seconds(60)) {
                    let answer = try? await platform.call("reader", path: "?names=lit")
                    return try answer.flatMap { try Self.read($0, "lit") }?.value == Data(updated.utf8)
                }
                #expect(rolled, "after the update the function must answer the new value")
                let updateMissing = try await cli(["secret", "update", "ghost", "--from-literal", "x"])
                #expect(updateMissing.status != 0)
                #expect(updateMissing.stderr.contains("secret 'ghost' not found"), "\(updateMissing.stderr)")

                // Delete while in use: 409 naming the function, over the CLI and the API.
                let inUse = try await cli(["secret", "remove", "lit"])
                #expect(inUse.status != 0)
                #expect(inUse.stderr.contains("secret 'lit' is used by function 'reader'"), "\(inUse.stderr)")
                let deleteBody = ByteBuffer(string: #"{"name":"lit"}"#)
                let apiInUse = try await platform.request(.DELETE, "/system/secrets", body: deleteBody, auth: true)
                #expect(apiInUse.status == 409)
                #expect(apiInUse.text.contains("'reader'"))

                // No API answer shows a value.
                var answers: [String] = [inUse.stderr, apiInUse.text, missing.text]
                for path in ["/system/secrets", "/system/functions", "/system/function/reader"] {
                    let answer = try await platform.request(.GET, path, auth: true)
                    #expect(answer.status == 200)
                    answers.append(answer.text)
                }
                #expect(answers[3].contains("\"lit\"") && answers[4].contains("\"secrets\""))

                // After the function is gone the secret can go: 200, then 404.
                let removeFunction = try await cli(["remove", "reader"])
                #expect(removeFunction.status == 0, "\(removeFunction.stderr)")
                let removeSecret = try await cli(["secret", "remove", "lit"])
                #expect(removeSecret.status == 0, "\(removeSecret.stderr)")
                #expect(removeSecret.stdout == "removed secret lit\n")
                let deleted = try await platform.request(.DELETE, "/system/secrets", body: ByteBuffer(string: #"{"name":"file"}"#), auth: true)
                #expect(deleted.status == 200)
                let again = try await platform.request(.DELETE, "/system/secrets", body: ByteBuffer(string: #"{"name":"file"}"#), auth: true)
                #expect(again.status == 404)
                let finalList = try await cli(["secret", "list"])
                #expect(finalList.stdout.split(separator: "\n").map { $0.split(separator: " ").first.map(String.init) } == ["NAME", "piped"])

                // Never a value in an API answer, a CLI output, or an instance's log lines.
                let seen = answers + outputs + platform.logs.all
                let forms = markers + values.map { $0.base64EncodedString() }
                for text in seen {
                    for form in forms {
                        #expect(!text.contains(form), "a secret value appeared in: \(text.prefix(200))")
                    }
                }
            }
        }

        @Test("swiftlet up with trace logging never logs a value; the database holds none")
        func binaryNeverLogsValues() async throws {
            try Requirements.check()
            let directory = TestPlatform.makeTemporaryDirectory()
            let host = SandboxHost(dataDirectory: directory)
            let processes = ProcessList()
            do {
                try await binarySteps(directory: directory, processes: processes)
            } catch {
                await cleanUp(directory: directory, host: host, processes: processes)
                throw error
            }
            await cleanUp(directory: directory, host: host, processes: processes)
        }

        private func binarySteps(directory: String, processes: ProcessList) async throws {
            let (process, port, log) = try SwiftletBinary.startUp(dataDirectory: directory, extra: ["--log-level", "trace"])
            processes.append(process)
            let gateway = "http://127.0.0.1:\(port)"
            #expect(try await eventually { (try? await HTTPClient.shared.get(url: gateway + "/healthz").get().status.code) == 200 })
            let options = ["--gateway", gateway, "--data-dir", directory]
            let first = "first-\(UUID().uuidString)"
            let second = "second-\(UUID().uuidString)"

            let create = try await SwiftletBinary.run(["secret", "create", "token"] + options, stdin: first)
            #expect(create.status == 0, "\(create.stderr)")
            let handler = directory + "-reader.py"
            try Data(Self.reader.utf8).write(to: URL(fileURLWithPath: handler))
            defer { try? FileManager.default.removeItem(atPath: handler) }
            let password = try String(contentsOfFile: directory + "/basic-auth-password", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
            var request = HTTPClientRequest(url: gateway + "/system/functions")
            request.method = .POST
            request.headers.add(name: "Authorization", value: "Basic " + Data("admin:\(password)".utf8).base64EncodedString())
            request.body = .bytes(
                ByteBuffer(bytes: try JSONSerialization.data(withJSONObject: [
                    "service": "reader", "runtime": "python3", "code": Data(Self.reader.utf8).base64EncodedString(), "secrets": ["token"],
                ]))
            )
            let deploy = try await HTTPClient.shared.execute(request, timeout: .seconds(120))
            #expect(deploy.status == .accepted)

            func invoked() async throws -> String {
                try await SwiftletBinary.run(["invoke", "reader", "--gateway", gateway, "--query", "names=token", "--data", ""]).stdout
            }
            let encoded = { (text: String) in Data(text.utf8).base64EncodedString() }
            #expect(try await eventually(timeout: .seconds(60)) { try await invoked().contains(encoded(first)) }, "the function reads the secret")
            let update = try await SwiftletBinary.run(["secret", "update", "token", "--from-literal", second] + options)
            #expect(update.status == 0, "\(update.stderr)")
            #expect(try await eventually(timeout: .seconds(60)) { try await invoked().contains(encoded(second)) }, "the roll brings the new value")
            let remove = try await SwiftletBinary.run(["remove", "reader"] + options)
            #expect(remove.status == 0, "\(remove.stderr)")
            let removeSecret = try await SwiftletBinary.run(["secret", "remove", "token"] + options)
            #expect(removeSecret.status == 0, "\(removeSecret.stderr)")

            kill(process.processIdentifier, SIGTERM)
            await SwiftletBinary.waitForExit(process)
            let output = try String(contentsOf: log, encoding: .utf8)
            #expect(output.contains("created secret") && output.contains("updated secret") && output.contains("removed secret"))
            #expect(output.contains("token"))
            for value in [first, second] {
                #expect(!output.contains(value), "the platform logged a secret value")
                #expect(!output.contains(encoded(value)), "the platform logged a secret value (base64)")
                for file in try FileManager.default.contentsOfDirectory(atPath: directory) where file.hasPrefix("swiftlet.db") {
                    let bytes = try Data(contentsOf: URL(fileURLWithPath: directory + "/" + file))
                    #expect(bytes.range(of: Data(value.utf8)) == nil, "\(file) holds a plaintext value")
                }
            }
            let key = try FileManager.default.attributesOfItem(atPath: directory + "/secrets.key")
            #expect((key[.posixPermissions] as? NSNumber)?.intValue == 0o600)
        }

        /// Stops what the binary test started, also when it failed.
        private func cleanUp(directory: String, host: SandboxHost, processes: ProcessList) async {
            for process in processes.all where process.isRunning {
                kill(process.processIdentifier, SIGTERM)
                await SwiftletBinary.waitForExit(process)
            }
            for id in (try? await host.runtime.list()) ?? [] {
                try? await host.runtime.delete(id: id)
            }
            try? FileManager.default.removeItem(atPath: directory)
        }
    }
}
