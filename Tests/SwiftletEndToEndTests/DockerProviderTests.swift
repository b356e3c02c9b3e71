import AsyncHTTPClient
import Foundation
import NIOCore
import SwiftletCore
import SwiftletDocker
import SwiftletSandbox
import Testing

/// What only the Docker provider does: the engine's view of the hardening, images the engine
/// holds, the gVisor runtime, egress networks, adoption and orphans after `kill -9`, and an
/// engine that goes away and comes back. All against the test engine of scripts/test-dockerd.sh.
extension EndToEnd {
    @Suite("End to end: Docker provider")
    struct DockerProviderTests {
        static let json = [("Content-Type", "application/json")]

        /// `docker inspect` of a container, as the engine's JSON.
        static func inspect(_ id: String) async throws -> [String: Any] {
            let endpoint = try await Requirements.dockerEndpoint()
            var request = HTTPClientRequest(url: endpoint.baseURL + "/v1.41/containers/\(id)/json")
            // The engine refuses the percent-encoded socket path AsyncHTTPClient would send as Host.
            request.headers.replaceOrAdd(name: "Host", value: "docker")
            let response = try await HTTPClient.shared.execute(request, timeout: .seconds(10))
            let body = try await response.body.collect(upTo: 4 * 1024 * 1024)
            return try #require(try JSONSerialization.jsonObject(with: Data(body.readableBytesView)) as? [String: Any])
        }

        /// Runs the docker CLI against the test engine.
        @discardableResult
        static func docker(_ arguments: [String], stdin: Data? = nil) async throws -> String {
            let result = try await SwiftletBinary.runTool(
                "/usr/bin/docker", arguments, environment: ["DOCKER_HOST": "unix://" + Requirements.dockerSocket], stdin: stdin
            )
            guard result.status == 0 else { throw TestFailure("docker \(arguments.joined(separator: " ")): \(result.stdout) \(result.stderr)") }
            return result.stdout
        }

        /// Imports a busybox image serving `/www` with httpd on 8080, as `user` (none: root).
        static func importHTTPImage(
            tag: String, user: String?, passwd: String = "root:x:0:0::/:/bin/sh\napp:x:10001:10001::/:/bin/sh\n"
        ) async throws {
            let root = TestPlatform.makeTemporaryDirectory()
            defer { try? FileManager.default.removeItem(atPath: root) }
            let fm = FileManager.default
            for directory in ["bin", "etc", "www", "tmp"] {
                try fm.createDirectory(atPath: root + "/" + directory, withIntermediateDirectories: true)
            }
            try fm.copyItem(atPath: "/bin/busybox", toPath: root + "/bin/busybox")
            try Data(passwd.utf8).write(to: URL(fileURLWithPath: root + "/etc/passwd"))
            try Data("served by busybox\n".utf8).write(to: URL(fileURLWithPath: root + "/www/index.html"))
            let tar = try await SwiftletBinary.offload { () -> Data in
                let process = Process()
                process.executableURL = URL(fileURLWithPath: "/usr/bin/tar")
                process.arguments = ["-C", root, "-c", "."]
                let output = Pipe()
                process.standardOutput = output
                try process.run()
                let data = output.fileHandleForReading.readDataToEndOfFile()
                process.waitUntilExit()
                return data
            }
            var arguments = ["import"]
            if let user { arguments += ["--change", "USER \(user)"] }
            arguments += ["--change", #"CMD ["/bin/busybox","httpd","-f","-p","8080","-h","/www"]"#, "-", tag]
            try await docker(arguments, stdin: tar)
        }

        static func containers(of platform: TestPlatform, function: String) async throws -> [DockerContainerSummary] {
            let provider = try #require(platform.provider as? DockerProvider)
            return try await provider.engine.listContainers(labels: ["\(DockerLabels.platform)=\(provider.platformID)", "\(DockerLabels.function)=\(function)"])
        }

        @Test("the engine shows every container hardened: CapDrop ALL, no-new-privileges, read-only, no network, non-root, init, limits, labels")
        func hardening() async throws {
            try await TestPlatform.with(provider: .docker) { platform in
                try await platform.deployOK(
                    "hard", runtime: "node", source: Handlers.nodeEcho, extra: ["limits": ["memory": "128Mi", "cpu": "0.5"]]
                )
                #expect(try await platform.call("hard").status == 200)
                let container = try #require(try await Self.containers(of: platform, function: "hard").first)
                let json = try await Self.inspect(container.Id)
                let host = try #require(json["HostConfig"] as? [String: Any])
                let config = try #require(json["Config"] as? [String: Any])
                #expect(host["CapDrop"] as? [String] == ["ALL"])
                #expect((host["CapAdd"] as? [String] ?? []).isEmpty)
                #expect(host["SecurityOpt"] as? [String] == ["no-new-privileges"], "the default seccomp profile stays (no seccomp=unconfined)")
                #expect(host["ReadonlyRootfs"] as? Bool == true)
                #expect(host["NetworkMode"] as? String == "none")
                #expect(host["Privileged"] as? Bool == false)
                #expect(host["Init"] as? Bool == true)
                #expect(host["Memory"] as? Int == 128 * 1024 * 1024)
                #expect(host["MemorySwap"] as? Int == 128 * 1024 * 1024)
                #expect(host["NanoCpus"] as? Int == 500_000_000)
                #expect(host["PidsLimit"] as? Int == 256)
                #expect((host["Tmpfs"] as? [String: String])?["/tmp"] != nil)
                #expect((host["PortBindings"] as? [String: Any] ?? [:]).isEmpty)
                #expect(config["User"] as? String == "10001:10001")
                let labels = config["Labels"] as? [String: String] ?? [:]
                #expect(labels[DockerLabels.managed] == "true")
                #expect(labels[DockerLabels.function] == "hard")
                #expect(labels[DockerLabels.instance]?.hasPrefix("hard-") == true)
                let mounts = json["Mounts"] as? [[String: Any]] ?? []
                #expect(!mounts.isEmpty && mounts.allSatisfy { $0["RW"] as? Bool == false }, "every bind is read-only: \(mounts)")
            }
        }

        @Test("an image the engine holds serves; a root image is refused at deploy; a missing one is a clear 4xx")
        func images() async throws {
            try await Self.importHTTPImage(tag: "swiftlet-test-httpd:app", user: "10001")
            try await Self.importHTTPImage(tag: "swiftlet-test-httpd:root", user: nil)
            try await Self.importHTTPImage(tag: "swiftlet-test-httpd:sneaky", user: "app", passwd: "app:x:0:0::/:/bin/sh\n")
            try await TestPlatform.with(provider: .docker) { platform in
                func deploy(_ name: String, image: String, labels: [String: String] = [:]) async throws -> TestPlatform.Answer {
                    let body = try JSONSerialization.data(withJSONObject: ["service": name, "image": image, "labels": labels])
                    return try await platform.request(.POST, "/system/functions", body: ByteBuffer(bytes: body), headers: Self.json, auth: true)
                }
                var answer = try await deploy("web", image: "swiftlet-test-httpd:app")
                #expect(answer.status == 202, "\(answer.text)")
                answer = try await platform.call("web", path: "/index.html")
                #expect(answer.status == 200 && answer.text == "served by busybox\n", "\(answer.status) \(answer.text)")
                let container = try #require(try await Self.containers(of: platform, function: "web").first)
                let json = try await Self.inspect(container.Id)
                #expect((json["Config"] as? [String: Any])?["User"] as? String == "10001")
                #expect((json["HostConfig"] as? [String: Any])?["ReadonlyRootfs"] as? Bool == false, "image functions keep a writable root unless asked")

                answer = try await deploy("rooted", image: "swiftlet-test-httpd:root")
                #expect(answer.status == 400 && answer.text.contains("runs as root"), "\(answer.status) \(answer.text)")
                answer = try await deploy("rooted", image: "swiftlet-test-httpd:root", labels: ["com.swiftlet.user": "4242"])
                #expect(answer.status == 202, "the user label runs a root image as another uid: \(answer.text)")
                #expect(try await platform.call("rooted", path: "/index.html").status == 200)

                // A named user that is uid 0 in the image's own passwd is caught when it starts.
                answer = try await deploy("sneaky", image: "swiftlet-test-httpd:sneaky")
                #expect(answer.status == 202, "\(answer.text)")
                answer = try await platform.call("sneaky", path: "/index.html", timeout: .seconds(30))
                #expect(answer.status == 503 && answer.text.contains("runs as root"), "\(answer.status) \(answer.text)")
                #expect(try await Self.containers(of: platform, function: "sneaky").isEmpty, "the root container was removed")

                answer = try await deploy("nothing", image: "127.0.0.1:1/swiftlet/absent:1")
                #expect(answer.status == 404, "\(answer.status) \(answer.text)")
                #expect(answer.text.contains("could not pull"), "\(answer.text)")
            }
        }

        @Test("a private registry: the deploy without registryAuth is refused, with it the engine pulls and the function serves")
        func privateRegistry() async throws {
            try await Self.importHTTPImage(tag: "swiftlet-test-httpd:app", user: "10001")
            let registry = try await LocalRegistry.start(login: ("puller", "s3cret-pw"))
            let config = TestPlatform.makeTemporaryDirectory()
            do {
                let reference = "\(registry.host)/private/httpd:1"
                // Push with the CLI's own login (a private config), then forget the image locally.
                let environment = ["DOCKER_HOST": "unix://" + Requirements.dockerSocket, "DOCKER_CONFIG": config]
                for arguments in [
                    ["tag", "swiftlet-test-httpd:app", reference], ["login", registry.host, "-u", "puller", "--password-stdin"], ["push", reference],
                    ["rmi", reference],
                ] {
                    let result = try await SwiftletBinary.runTool(
                        "/usr/bin/docker", arguments, environment: environment, stdin: arguments[0] == "login" ? Data("s3cret-pw".utf8) : nil
                    )
                    #expect(result.status == 0, "docker \(arguments[0]): \(result.stdout) \(result.stderr)")
                }
                try await TestPlatform.with(provider: .docker) { platform in
                    func deploy(_ extra: [String: Any]) async throws -> TestPlatform.Answer {
                        var object: [String: Any] = ["service": "private", "image": reference]
                        object.merge(extra) { _, new in new }
                        let body = try JSONSerialization.data(withJSONObject: object)
                        return try await platform.request(.POST, "/system/functions", body: ByteBuffer(bytes: body), headers: Self.json, auth: true)
                    }
                    var answer = try await deploy([:])
                    #expect((400..<500).contains(answer.status) && answer.text.contains("could not pull"), "\(answer.status) \(answer.text)")
                    answer = try await deploy(["registryAuth": Data("puller:wrong".utf8).base64EncodedString()])
                    #expect((400..<500).contains(answer.status), "wrong password: \(answer.status) \(answer.text)")
                    answer = try await deploy(["registryAuth": Data("puller:s3cret-pw".utf8).base64EncodedString()])
                    #expect(answer.status == 202, "\(answer.status) \(answer.text)")
                    let served = try await platform.call("private", path: "/index.html")
                    #expect(served.status == 200 && served.text == "served by busybox\n", "\(served.status) \(served.text)")
                    let stored = try String(decoding: Data(contentsOf: URL(fileURLWithPath: platform.dataDirectory + "/swiftlet.db")), as: UTF8.self)
                    #expect(!stored.contains("s3cret-pw") && !stored.contains(Data("puller:s3cret-pw".utf8).base64EncodedString()), "credentials are never stored")
                }
            } catch {
                await registry.stop()
                try? FileManager.default.removeItem(atPath: config)
                throw error
            }
            _ = try? await Self.docker(["rmi", "\(registry.host)/private/httpd:1"])
            await registry.stop()
            try? FileManager.default.removeItem(atPath: config)
        }

        @Test("hardened isolation runs under gVisor (runsc) with the same data path")
        func hardened() async throws {
            try await TestPlatform.with(provider: .docker) { platform in
                let source = #"""
                    def handle(event, context):
                        return {"statusCode": 200, "body": open("/proc/version").read()}
                    """#
                try await platform.deployOK("gv", runtime: "python3", source: source, extra: ["isolation": "hardened"])
                let answer = try await platform.call("gv")
                #expect(answer.status == 200)
                // gVisor's own kernel answers, not the host's.
                #expect(answer.text.contains("4.4.0"), "\(answer.text)")
                let container = try #require(try await Self.containers(of: platform, function: "gv").first)
                #expect((try await Self.inspect(container.Id)["HostConfig"] as? [String: Any])?["Runtime"] as? String == "runsc")
                let bad = try await platform.deploy("gv2", runtime: "python3", code: Data(source.utf8), extra: ["isolation": "paranoid"])
                #expect(bad.status == 400 && bad.text.contains("standard or hardened"), "\(bad.text)")
            }
        }

        @Test("egress gets the function its own labelled network, removed with the function")
        func egressNetwork() async throws {
            try await TestPlatform.with(provider: .docker) { platform in
                let provider = try #require(platform.provider as? DockerProvider)
                try await platform.deployOK(
                    "out", runtime: "python3", source: Handlers.version("net"), extra: ["labels": [NetworkAccess.label: "egress"]]
                )
                #expect(try await platform.call("out").status == 200)
                let networks = try await provider.engine.listNetworks(labels: ["\(DockerLabels.platform)=\(provider.platformID)"])
                #expect(networks.map(\.Name) == ["swiftlet-\(provider.platformID)-out"])
                #expect(networks.first?.Labels?[DockerLabels.function] == "out")
                let container = try #require(try await Self.containers(of: platform, function: "out").first)
                #expect((try await Self.inspect(container.Id)["HostConfig"] as? [String: Any])?["NetworkMode"] as? String == networks.first?.Name)
                // Another function stays without any network.
                try await platform.deployOK("closed", runtime: "python3", source: Handlers.version("none"))
                #expect(try await platform.call("closed").status == 200)
                let closed = try #require(try await Self.containers(of: platform, function: "closed").first)
                #expect((try await Self.inspect(closed.Id)["HostConfig"] as? [String: Any])?["NetworkMode"] as? String == "none")

                let removed = try await platform.request(
                    .DELETE, "/system/functions", body: ByteBuffer(string: #"{"functionName":"out"}"#), headers: Self.json, auth: true
                )
                #expect(removed.status == 200 || removed.status == 202)
                let gone = try await eventually(timeout: .seconds(20)) {
                    try await provider.engine.listNetworks(labels: ["\(DockerLabels.platform)=\(provider.platformID)"]).isEmpty
                }
                #expect(gone, "the network of a removed function is removed")
                let bad = try await platform.deploy("out2", runtime: "python3", code: Data(Handlers.version("x").utf8), extra: ["labels": [NetworkAccess.label: "internet"]])
                #expect(bad.status == 400, "\(bad.text)")
            }
        }

        @Test("debug mode: the node inspector is forwarded to 127.0.0.1 only; the container publishes no port")
        func debugMode() async throws {
            try await TestPlatform.with(provider: .docker, scheduling: DebugTests.scheduling) { platform in
                try await platform.deployOK("dbg", runtime: "node", source: DebugTests.nodeHandler, extra: ["debug": true])
                let endpoint = try await DebugTests.debugEndpoint(platform, "dbg", debugger: "node-inspector")
                #expect(endpoint.hasPrefix("127.0.0.1:"))
                let listening = try DebugTests.listensOnLoopbackOnly(try DebugTests.port(of: endpoint))
                #expect(listening.loopback && !listening.other, "the forwarded port must listen on 127.0.0.1 only")
                let response = try await HTTPClient.shared.execute(HTTPClientRequest(url: "http://\(endpoint)/json/list"), timeout: .seconds(10))
                let body = try await response.body.collect(upTo: 1024 * 1024)
                #expect(response.status == .ok && String(buffer: body).contains("webSocketDebuggerUrl"), "\(String(buffer: body))")
                #expect(try await platform.call("dbg").status == 200)
                let container = try #require(try await Self.containers(of: platform, function: "dbg").first)
                let host = try #require(try await Self.inspect(container.Id)["HostConfig"] as? [String: Any])
                #expect((host["PortBindings"] as? [String: Any] ?? [:]).isEmpty)
                #expect(host["NetworkMode"] as? String == "none")
            }
        }

        @Test("engine down: /healthz and calls answer 503 saying so; when it returns, Swiftlet recovers")
        func engineDown() async throws {
            try await TestPlatform.with(provider: .docker) { platform in
                try await platform.deployOK(
                    "steady", runtime: "python3", source: Handlers.version("up"), extra: ["labels": ["com.openfaas.scale.zero": "true"]]
                )
                #expect(try await platform.call("steady").status == 200)
                let scale = try await platform.request(
                    .POST, "/system/scale-function/steady", body: ByteBuffer(string: #"{"replicas":0}"#), headers: Self.json, auth: true
                )
                #expect(scale.status == 202 || scale.status == 200)
                #expect(try await eventually(timeout: .seconds(20)) { try await Self.containers(of: platform, function: "steady").isEmpty })
                try await DockerDaemon.stop()
                do {
                    let health = try await platform.request(.GET, "/healthz")
                    #expect(health.status == 503 && health.text.contains("Docker engine"), "\(health.status) \(health.text)")
                    let call = try await platform.call("steady", timeout: .seconds(30))
                    #expect(call.status == 503 && call.text.contains("Docker engine"), "\(call.status) \(call.text)")
                } catch {
                    try await DockerDaemon.start()
                    throw error
                }
                try await DockerDaemon.start()
                #expect(try await eventually(timeout: .seconds(30)) { try await platform.request(.GET, "/healthz").status == 200 })
                var last = TestPlatform.Answer(status: 0, headers: [:], body: ByteBuffer())
                let recovered = try await eventually(timeout: .seconds(60)) {
                    last = try await platform.call("steady", timeout: .seconds(30))
                    return last.status == 200 && last.text == "up"
                }
                #expect(recovered, "after the engine came back: \(last.status) \(last.text)")
            }
        }

        @Test("after kill -9: running instances are adopted, orphans listed by gc --dry-run and removed at start; SIGTERM leaves nothing")
        func orphansAfterKill() async throws {
            try await Self.importHTTPImage(tag: "swiftlet-test-httpd:app", user: "10001")
            let directory = TestPlatform.makeTemporaryDirectory()
            let processes = ProcessList()
            let environment = ["DOCKER_HOST": "unix://" + Requirements.dockerSocket]
            let platformID = (SandboxHost(dataDirectory: directory, runBase: "/run/swiftlet-docker").runDirectory as NSString).lastPathComponent
            let engine = DockerEngine(endpoint: try await Requirements.dockerEndpoint(), client: HTTPClient.shared)
            defer { try? FileManager.default.removeItem(atPath: directory) }
            do {
                try await Self.orphanSteps(directory: directory, platformID: platformID, engine: engine, processes: processes, environment: environment)
            } catch {
                for process in processes.all where process.isRunning { kill(process.processIdentifier, SIGKILL) }
                for container in (try? await engine.listContainers(labels: ["\(DockerLabels.platform)=\(platformID)"])) ?? [] {
                    try? await engine.removeContainer(container.Id)
                }
                throw error
            }
        }

        private static func orphanSteps(
            directory: String, platformID: String, engine: DockerEngine, processes: ProcessList, environment: [String: String]
        ) async throws {
            let up = ["--provider", "docker", "--no-auth"]
            let (first, port, _) = try SwiftletBinary.startUp(dataDirectory: directory, extra: up, environment: environment)
            processes.append(first)
            let gateway = "http://127.0.0.1:\(port)"
            #expect(try await eventually { (try? await HTTPClient.shared.get(url: gateway + "/healthz").get().status.code) == 200 })
            let deploy = try await SwiftletBinary.run(
                ["deploy", "keep", "--runtime", "python3", "--code", try Self.writeHandler(directory), "--gateway", gateway]
            )
            #expect(deploy.status == 0, "\(deploy.stderr)")
            let firstAnswer = try await HTTPClient.shared.post(url: gateway + "/function/keep", body: .string("a")).get()
            #expect(firstAnswer.status.code == 200)
            let hostname = String(buffer: firstAnswer.body ?? ByteBuffer())
            kill(first.processIdentifier, SIGKILL)
            await SwiftletBinary.waitForExit(first)

            // What a crash leaves: the instance still runs. Plant an orphan of a function the store never had.
            let mine = ["\(DockerLabels.platform)=\(platformID)"]
            #expect(try await engine.listContainers(labels: mine).count == 1)
            var orphan = DockerContainerConfig(image: "swiftlet-test-httpd:app")
            orphan.Labels = [DockerLabels.managed: "true", DockerLabels.platform: platformID, DockerLabels.function: "ghost", DockerLabels.kind: "instance"]
            let orphanID = try await engine.createContainer(name: "swiftlet-\(platformID)-ghost-1", orphan)
            try await engine.startContainer(orphanID)

            let dryRun = try await SwiftletBinary.run(["gc", "--dry-run", "--data-dir", directory], environment: environment)
            #expect(dryRun.status == 0, "\(dryRun.stderr)")
            #expect(dryRun.stdout.contains("swiftlet-\(platformID)-ghost-1") && dryRun.stdout.contains("not deployed"), "\(dryRun.stdout)")
            #expect(!dryRun.stdout.contains("keep-"), "a running instance of a deployed function is not garbage: \(dryRun.stdout)")
            #expect(try await engine.inspectContainer(orphanID) != nil, "--dry-run removes nothing")

            let (second, port2, _) = try SwiftletBinary.startUp(dataDirectory: directory, extra: up, environment: environment)
            processes.append(second)
            let gateway2 = "http://127.0.0.1:\(port2)"
            #expect(try await eventually(timeout: .seconds(30)) { (try? await HTTPClient.shared.get(url: gateway2 + "/healthz").get().status.code) == 200 })
            #expect(try await engine.inspectContainer(orphanID) == nil, "the orphan is removed at start")
            let again = try await HTTPClient.shared.post(url: gateway2 + "/function/keep", body: .string("b")).get()
            #expect(again.status.code == 200)
            #expect(String(buffer: again.body ?? ByteBuffer()) == hostname, "the running instance was adopted, not replaced")
            #expect(try await engine.listContainers(labels: mine).count == 1)

            kill(second.processIdentifier, SIGTERM)
            await SwiftletBinary.waitForExit(second)
            #expect(second.terminationStatus == 0)
            #expect(try await engine.listContainers(labels: mine).isEmpty, "a graceful stop removes every container")
            #expect(!FileManager.default.fileExists(atPath: "/run/swiftlet-docker/" + platformID), "and its run directory")
        }

        private static func writeHandler(_ directory: String) throws -> String {
            let path = directory + "/handler.py"
            try Data(
                """
                import socket
                def handle(event, context):
                    return {"statusCode": 200, "body": socket.gethostname()}
                """.utf8
            ).write(to: URL(fileURLWithPath: path))
            return path
        }
    }
}

/// Stops and starts the test Docker engine (scripts/test-dockerd.sh).
enum DockerDaemon {
    static var script: String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path
            + "/scripts/test-dockerd.sh"
    }

    static func stop() async throws { try await run("stop") }
    static func start() async throws { try await run("start") }

    private static func run(_ action: String) async throws {
        let status = try await SwiftletBinary.offload { () -> Int32 in
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/bin/bash")
            process.arguments = [script, action]
            process.standardOutput = FileHandle.nullDevice
            try process.run()
            process.waitUntilExit()
            return process.terminationStatus
        }
        guard status == 0 else { throw TestFailure("scripts/test-dockerd.sh \(action) failed (\(status))") }
    }
}
