import AsyncHTTPClient
import Foundation
import Logging
import NIOConcurrencyHelpers
import NIOCore
import SwiftletCore
import SwiftletProviders
import SwiftletScheduler
import Testing

extension EndToEnd {
    /// Debug mode over real sandboxes: the debugger's port forwarded to 127.0.0.1 on the host, a
    /// real DevTools / DAP handshake through it, and a paused function that neither times out nor
    /// gets replaced by health checks.
    @Suite("End to end: debug mode")
    struct DebugTests {
        /// Fast health checks, so that a paused instance fails several of them during a test.
        static let scheduling = Scheduler.Configuration(
            readinessTimeout: .seconds(20), acquireTimeout: .seconds(20), scaleInterval: .milliseconds(200), scaleDownDelay: .seconds(2),
            healthInterval: .milliseconds(300), healthTimeout: .milliseconds(500), healthFailuresBeforeReplace: 2
        )

        static let nodeHandler = "module.exports = async (event, context) => context.status(200).succeed(process.env.HOSTNAME)\n"
        static let pythonHandler = """
            import os
            def handle(event, context):
                return {'statusCode': 200, 'body': os.environ['HOSTNAME']}

            """

        /// Whether the sandboxes' python (the host's /usr/bin/python3) can import debugpy.
        static let debugpyInstalled: Bool = {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
            process.arguments = ["-c", "import debugpy"]
            process.standardError = FileHandle.nullDevice
            process.standardOutput = FileHandle.nullDevice
            guard (try? process.run()) != nil else { return false }
            process.waitUntilExit()
            return process.terminationStatus == 0
        }()

        /// The status of `name` as JSON, or nil when it is not 200.
        static func status(_ platform: TestPlatform, _ name: String) async throws -> [String: Any]? {
            let answer = try await platform.request(.GET, "/system/function/\(name)", auth: true)
            return answer.status == 200 ? try answer.json() : nil
        }

        /// Waits until `name` has a ready instance whose debugger is forwarded; returns the endpoint.
        static func debugEndpoint(_ platform: TestPlatform, _ name: String, debugger: String) async throws -> String {
            var endpoint: String?
            var last = ""
            let found = try await eventually(timeout: .seconds(30)) {
                let status = try await status(platform, name)
                last = "\(status ?? [:])"
                endpoint = (status?["annotations"] as? [String: String])?[DebugMode.annotationPrefix + debugger]
                return endpoint != nil && status?["availableReplicas"] as? Int == 1
            }
            #expect(found, "no forwarded \(debugger) port in the status of \(name) (\(last)); its output: \(platform.logs.all.suffix(10))")
            return try #require(endpoint)
        }

        static func port(of endpoint: String) throws -> Int {
            try #require(endpoint.split(separator: ":").last.flatMap { Int($0) })
        }

        /// Whether a socket listens on 127.0.0.1:`port` (read from /proc/net/tcp, no traffic).
        static func listensOnLoopbackOnly(_ port: Int) throws -> (loopback: Bool, other: Bool) {
            let hexPort = String(format: "%04X", port)
            var loopback = false
            var other = false
            for file in ["/proc/net/tcp", "/proc/net/tcp6"] {
                let text = (try? String(contentsOfFile: file, encoding: .utf8)) ?? ""
                for line in text.split(separator: "\n").dropFirst() {
                    let fields = line.split(separator: " ")
                    guard fields.count > 3, fields[3] == "0A", fields[1].hasSuffix(":" + hexPort) else { continue }
                    if fields[1] == "0100007F:" + hexPort { loopback = true } else { other = true }
                }
            }
            return (loopback, other)
        }

        @Test("node: inspector forwarded to 127.0.0.1, a DevTools client attaches, a paused call neither times out nor is replaced")
        func nodeInspector() async throws {
            try await TestPlatform.with(scheduling: Self.scheduling) { platform in
                try await platform.deployOK(
                    "dbg-node", runtime: "node", source: Self.nodeHandler, extra: ["debug": true, "envVars": ["exec_timeout": "1s"]]
                )
                let endpoint = try await Self.debugEndpoint(platform, "dbg-node", debugger: "node-inspector")
                #expect(endpoint.hasPrefix("127.0.0.1:"))
                let port = try Self.port(of: endpoint)
                let listening = try Self.listensOnLoopbackOnly(port)
                #expect(listening.loopback && !listening.other, "the forwarded port must listen on 127.0.0.1 only")
                let status = try #require(try await Self.status(platform, "dbg-node"))
                #expect(status["debug"] as? Bool == true)
                #expect(status["replicas"] as? Int == 1)

                // The DevTools discovery handshake over the forwarded port.
                let discovery = HTTPClientRequest(url: "http://\(endpoint)/json/list")
                let response = try await HTTPClient.shared.execute(discovery, timeout: .seconds(10))
                let body = try await response.body.collect(upTo: 1024 * 1024)
                #expect(response.status == .ok)
                let targets = try #require(try JSONSerialization.jsonObject(with: Data(body.readableBytesView)) as? [[String: Any]])
                let socketURL = try #require(targets.first?["webSocketDebuggerUrl"] as? String, "no target in \(String(buffer: body))")
                let socketPath = try #require(URL(string: socketURL)?.path)

                let first = try await platform.call("dbg-node")
                #expect(first.status == 200)
                let instance = first.text
                let containers = try await platform.containers()
                #expect(containers.count == 1)

                // Attach, pause, and make a call while paused.
                let devtools = try await DebuggerClients.blocking { try DebuggerClients.DevTools(port: port, path: socketPath) }
                let paused = try await DebuggerClients.blocking { () throws -> Bool in
                    var events: [[String: Any]] = []
                    let enabled = try devtools.command("Debugger.enable", events: &events)
                    guard enabled["result"] != nil else { return false }
                    try devtools.command("Debugger.pause", events: &events)
                    return true
                }
                #expect(paused)
                // The next JavaScript to run (a health check) pauses; with no call in flight, a
                // normal instance failing its health checks this long would be replaced.
                _ = try await DebuggerClients.blocking { () throws -> Bool in
                    _ = try devtools.waitForEvent("Debugger.paused")
                    return true
                }
                try await Task.sleep(for: .seconds(3))
                #expect(try await platform.containers() == containers, "a paused debug instance must not be replaced")
                let whilePaused = try #require(try await Self.status(platform, "dbg-node"))
                #expect(whilePaused["replicas"] as? Int == 1)
                #expect(whilePaused["availableReplicas"] as? Int == 1, "a paused debug instance must stay in service")
                // A call to the paused function waits well past its 1 s exec_timeout.
                let clock = ContinuousClock()
                let begin = clock.now
                let call = Task { try await platform.call("dbg-node", timeout: .seconds(60)) }
                try await Task.sleep(for: .seconds(4))
                #expect(try await platform.containers() == containers, "a paused debug instance must not be replaced")
                _ = try await DebuggerClients.blocking { () throws -> Bool in
                    var events: [[String: Any]] = []
                    try devtools.command("Debugger.resume", events: &events)
                    return true
                }
                let answer = try await call.value
                #expect(answer.status == 200, "the paused call answered \(answer.status): \(answer.text)")
                #expect(answer.text == instance)
                #expect(clock.now - begin >= .seconds(4))
                devtools.connection.close()

                // Still the same instance; scaling stays at one.
                #expect(try await platform.call("dbg-node").text == instance)
                #expect(try await platform.containers() == containers)
                let scale = try await platform.request(
                    .POST, "/system/scale-function/dbg-node", body: ByteBuffer(string: #"{"replicas":3}"#),
                    headers: [("Content-Type", "application/json")], auth: true
                )
                #expect(scale.status == 400, "scaling a debug function answered \(scale.status): \(scale.text)")

                // The forward stops with the instance.
                let removed = try await platform.request(
                    .DELETE, "/system/functions", body: ByteBuffer(string: #"{"functionName":"dbg-node"}"#),
                    headers: [("Content-Type", "application/json")], auth: true
                )
                #expect(removed.status == 202 || removed.status == 200)
                #expect(try await eventually { (try? RawTCP(port: port, timeoutSeconds: 1)) == nil }, "the forwarded port still accepts")
            }
        }

        @Test(
            "python: debugpy is forwarded and answers a DAP initialize",
            .enabled(if: DebugTests.debugpyInstalled, "debugpy is not importable by /usr/bin/python3 (scripts/install-deps.sh installs it); skipped")
        )
        func pythonDebugpy() async throws {
            try await TestPlatform.with(scheduling: Self.scheduling) { platform in
                try await platform.deployOK(
                    "dbg-py", runtime: "python3", source: Self.pythonHandler,
                    extra: ["labels": [DebugMode.label: "true"], "envVars": ["exec_timeout": "1s"]]
                )
                let endpoint = try await Self.debugEndpoint(platform, "dbg-py", debugger: "debugpy")
                #expect(endpoint.hasPrefix("127.0.0.1:"))
                let port = try Self.port(of: endpoint)
                let (success, response) = try await DebuggerClients.blocking { () throws -> (Bool?, String) in
                    let response = try DebuggerClients.dapInitialize(port: port)
                    return (response["success"] as? Bool, "\(response)")
                }
                #expect(success == true, "DAP initialize answered \(response)")
                let call = try await platform.call("dbg-py")
                #expect(call.status == 200)
                #expect(platform.logs.all.contains { $0.contains("debugpy listening on 127.0.0.1:5678") })
            }
        }

        @Test("DEBUG_BIND_ADDRESS beyond loopback logs a loud warning at start and at deploy; loopback does not")
        func exposedBindAddressWarns() async throws {
            try Requirements.check()
            for (address, warns) in [("0.0.0.0", true), ("127.0.0.1", false)] {
                let directory = TestPlatform.makeTemporaryDirectory()
                defer { try? FileManager.default.removeItem(atPath: directory) }
                let records = LogRecords()
                var logger = Logger(label: "swiftlet-debug-test") { _ in RecordingHandler(records: records) }
                logger.logLevel = .info
                var configuration = NativeProvider.Configuration(dataDirectory: directory)
                configuration.debugBindAddress = address
                let provider = try NativeProvider(
                    configuration: configuration, codeSource: NoCode(), sink: RecordingLogSink(), logger: logger
                )
                try await provider.start()
                let atStart = records.warnings.filter { $0.contains("DEBUG_BIND_ADDRESS is \(address)") }.count
                let spec = FunctionSpec(name: "dbg", runtime: .node, codeDigest: "x", debug: true)
                try await provider.prepare(spec, code: Data(Self.nodeHandler.utf8))
                let atDeploy = records.warnings.filter { $0.contains("DEBUG_BIND_ADDRESS is \(address)") }.count - atStart
                await provider.shutdown()
                #expect(atStart == (warns ? 1 : 0), "\(address): \(records.warnings)")
                #expect(atDeploy == (warns ? 1 : 0), "\(address): \(records.warnings)")
            }
        }

        @Test("CLI: deploy --debug, list shows the mode, describe shows the forwarded debugger")
        func cli() async throws {
            try await TestPlatform.with(scheduling: Self.scheduling) { platform in
                let env = ["SWIFTLET_URL": platform.baseURL, "SWIFTLET_USER": "admin", "SWIFTLET_PASSWORD": platform.credentials.password]
                let file = TestPlatform.makeTemporaryDirectory() + "/handler.js"
                defer { try? FileManager.default.removeItem(atPath: (file as NSString).deletingLastPathComponent) }
                try Self.nodeHandler.write(toFile: file, atomically: false, encoding: .utf8)
                let arguments = ["deploy", "cli-dbg", "--runtime", "node", "--code", file, "--debug"]
                let deploy = try await SwiftletBinary.run(arguments, environment: env)
                #expect(deploy.status == 0, "\(deploy.stderr)")
                #expect(deploy.stdout.contains("debug mode"))
                let endpoint = try await Self.debugEndpoint(platform, "cli-dbg", debugger: "node-inspector")
                let describe = try await SwiftletBinary.run(["describe", "cli-dbg"], environment: env)
                #expect(describe.status == 0, "\(describe.stderr)")
                #expect(describe.stdout.contains("node-inspector at \(endpoint)"), "\(describe.stdout)")
                let list = try await SwiftletBinary.run(["list"], environment: env)
                let line = list.stdout.split(separator: "\n").first { $0.hasPrefix("cli-dbg ") }
                #expect(line?.split(separator: " ").last == "debug", "\(list.stdout)")
                #expect(list.stdout.contains("MODE"))
            }
        }

        @Test("a function without debug mode has no debugger and keeps its exec_timeout")
        func notDebug() async throws {
            try await TestPlatform.with(scheduling: Self.scheduling) { platform in
                try await platform.deployOK(
                    "plain-node", runtime: "node", source: Self.nodeHandler, extra: ["envVars": ["exec_timeout": "1s"]]
                )
                #expect(try await eventually { try await Self.status(platform, "plain-node")?["availableReplicas"] as? Int == 1 })
                let status = try #require(try await Self.status(platform, "plain-node"))
                #expect(status["debug"] == nil)
                #expect((status["annotations"] as? [String: String] ?? [:]).keys.allSatisfy { !$0.hasPrefix(DebugMode.annotationPrefix) })
                #expect(!platform.logs.all.contains { $0.contains("Debugger listening") })
            }
        }
    }
}

/// A code source with no code (the warning test starts nothing).
private struct NoCode: CodeSource {
    func code(digest: String) async throws -> Data? { nil }
}

/// Warnings logged, for the bind-address test.
private final class LogRecords: Sendable {
    private let box = NIOLockedValueBox<[String]>([])
    func append(_ line: String) { box.withLockedValue { $0.append(line) } }
    var warnings: [String] { box.withLockedValue { $0 } }
}

private struct RecordingHandler: LogHandler {
    let records: LogRecords
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level = .info

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        if event.level >= .warning { records.append(event.message.description) }
    }
}
