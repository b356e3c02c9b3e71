import AsyncHTTPClient
import Foundation
import NIOCore
import SwiftletCore
import SwiftletDocker
import SwiftletSandbox
import SwiftletStore
import Testing

/// Bad, hostile and concurrent input at the Docker provider's entry points: `swiftlet up
/// --provider`, `DOCKER_HOST`, `swiftlet gc`, and the deployment fields and labels it reads.
extension EndToEnd {
    @Suite("End to end: Docker provider input")
    struct DockerInputTests {
        static let json = [("Content-Type", "application/json")]
        static let neverCreated = "/nonexistent/swiftlet-never-created"

        @Test("swiftlet up refuses a bad --provider or DOCKER_HOST at once, naming it", arguments: [
            (["--provider", "kubernetes"], [String: String](), "--provider"),
            (["--provider", ""], [:], "--provider"),
            (["--provider", "docker"], ["DOCKER_HOST": "ssh://user@host"], "DOCKER_HOST"),
            (["--provider", "docker"], ["DOCKER_HOST": "tcp://no-port"], "DOCKER_HOST"),
            (["--provider", "docker"], ["DOCKER_HOST": "unix://relative.sock"], "DOCKER_HOST"),
            (["--provider", "docker"], ["DOCKER_HOST": "tcp://127.0.0.1:99999"], "DOCKER_HOST"),
            (["--provider", "docker"], ["DOCKER_HOST": String(repeating: "x", count: 10_000)], "DOCKER_HOST"),
        ])
        func badProvider(_ arguments: [String], _ environment: [String: String], _ named: String) async throws {
            let result = try await SwiftletBinary.run(["up"] + arguments + ["--data-dir", Self.neverCreated], environment: environment)
            #expect(result.status != 0)
            #expect(result.stderr.contains(named), "\(result.stderr.prefix(300))")
            #expect(result.stderr.count < 2000, "one clear line, not an echo of a huge value")
            #expect(!FileManager.default.fileExists(atPath: Self.neverCreated))
        }

        @Test("swiftlet up --provider docker with no engine serves, and /healthz says why it is unhealthy")
        func upWithoutEngine() async throws {
            let directory = TestPlatform.makeTemporaryDirectory()
            // With no engine to ask, the stopping platform keeps its run directory (a container it
            // cannot see might use it): the test removes it.
            let runDirectory = SandboxHost(dataDirectory: directory, runBase: "/run/swiftlet-docker").runDirectory
            defer {
                try? FileManager.default.removeItem(atPath: directory)
                try? FileManager.default.removeItem(atPath: runDirectory)
                rmdir("/run/swiftlet-docker")
            }
            let (process, port, log) = try SwiftletBinary.startUp(
                dataDirectory: directory, extra: ["--provider", "docker", "--no-auth"],
                environment: ["DOCKER_HOST": "unix://\(directory)/no-engine.sock"]
            )
            defer {
                if process.isRunning { kill(process.processIdentifier, SIGKILL) }
            }
            let gateway = "http://127.0.0.1:\(port)"
            var status: UInt = 0
            var text = ""
            let answered = try await eventually(timeout: .seconds(20)) {
                guard let response = try? await HTTPClient.shared.get(url: gateway + "/healthz").get() else { return false }
                status = response.status.code
                text = String(buffer: response.body ?? ByteBuffer())
                return true
            }
            #expect(answered, "\((try? String(contentsOf: log, encoding: .utf8)) ?? "")")
            #expect(status == 503 && text.contains("Docker engine") && text.contains("no-engine.sock"), "\(status) \(text)")
            kill(process.processIdentifier, SIGTERM)
            await SwiftletBinary.waitForExit(process)
            #expect(process.terminationStatus == 0)
        }

        @Test("swiftlet gc: a missing data directory or an absent engine is one clear error")
        func gcErrors() async throws {
            var result = try await SwiftletBinary.run(["gc", "--dry-run", "--data-dir", Self.neverCreated])
            #expect(result.status != 0 && result.stderr.contains("swiftlet.db"), "\(result.stderr)")
            #expect(!FileManager.default.fileExists(atPath: Self.neverCreated))

            let directory = TestPlatform.makeTemporaryDirectory()
            defer { try? FileManager.default.removeItem(atPath: directory) }
            _ = try SQLiteFixture.create(directory + "/swiftlet.db")
            result = try await SwiftletBinary.run(
                ["gc", "--dry-run", "--data-dir", directory], environment: ["DOCKER_HOST": "unix://\(directory)/absent.sock"]
            )
            #expect(result.status != 0 && result.stderr.contains("did not answer"), "\(result.stderr)")
            result = try await SwiftletBinary.run(["gc", "--data-dir", directory], environment: ["DOCKER_HOST": "ftp://x"])
            #expect(result.status != 0 && result.stderr.contains("DOCKER_HOST"), "\(result.stderr)")
            result = try await SwiftletBinary.run(
                ["gc", "--dry-run", "--data-dir", directory], environment: ["DOCKER_HOST": "unix://" + Requirements.dockerSocket]
            )
            #expect(result.status == 0 && result.stdout.contains("nothing to remove"), "\(result.stdout) \(result.stderr)")
        }

        @Test("bad isolation, network and registryAuth values are 400 on both providers; the native provider refuses what it cannot give", arguments: ProviderKind.allCases)
        func badDeploymentFields(provider: ProviderKind) async throws {
            try await TestPlatform.with(provider: provider) { platform in
                let code = Data(Handlers.version("x").utf8)
                let bad: [[String: Any]] = [
                    ["isolation": "paranoid"], ["isolation": ""], ["isolation": String(repeating: "h", count: 5000)],
                    ["labels": [IsolationTier.label: "maximum"]], ["isolation": "hardened", "labels": [IsolationTier.label: "standard"]],
                    ["labels": [NetworkAccess.label: "internet"]], ["registryAuth": "not base64!"],
                    ["registryAuth": Data("no-colon".utf8).base64EncodedString()], ["registryAuth": String(repeating: "QUFB", count: 4000)],
                ]
                for extra in bad {
                    let answer = try await platform.deploy("fields", runtime: "python3", code: code, extra: extra)
                    #expect(answer.status == 400, "\(provider) \(extra.keys.sorted()): \(answer.status) \(answer.text.prefix(200))")
                }
                let list = try await platform.request(.GET, "/system/functions", auth: true)
                #expect(list.text == "[]", "nothing was stored: \(list.text)")
                if provider == .native {
                    let answer = try await platform.deploy("fields", runtime: "python3", code: code, extra: ["labels": [NetworkAccess.label: "egress"]])
                    #expect(answer.status == 501 && answer.text.contains("docker"), "\(answer.status) \(answer.text)")
                }
            }
        }

        @Test("concurrent: 8 functions deployed at once and 40 calls at once to a function at zero all succeed on Docker")
        func concurrent() async throws {
            let platformID = try await TestPlatform.with(provider: .docker) { platform -> String in
                try await withThrowingTaskGroup(of: Int.self) { group in
                    for i in 0..<8 {
                        group.addTask {
                            try await platform.deploy(
                                "many-\(i)", runtime: "python3", code: Data(Handlers.version("v\(i)").utf8),
                                extra: i % 2 == 0 ? ["labels": [NetworkAccess.label: "egress"]] : [:]
                            ).status
                        }
                    }
                    for try await status in group { #expect(status == 202) }
                }
                try await platform.deployOK("burst", runtime: "node", source: Handlers.nodeEcho)
                try await withThrowingTaskGroup(of: Int.self) { group in
                    for _ in 0..<40 {
                        group.addTask { try await platform.call("burst", method: .POST, body: ByteBuffer(string: "x")).status }
                    }
                    var statuses: [Int] = []
                    for try await status in group { statuses.append(status) }
                    #expect(statuses.allSatisfy { $0 == 200 }, "\(statuses)")
                }
                for i in 0..<8 {
                    let answer = try await platform.call("many-\(i)")
                    #expect(answer.status == 200 && answer.text == "v\(i)", "many-\(i): \(answer.status) \(answer.text)")
                }
                let provider = try #require(platform.provider as? DockerProvider)
                let networks = try await provider.engine.listNetworks(labels: ["\(DockerLabels.platform)=\(provider.platformID)"])
                #expect(networks.count == 4, "one network per egress function: \(networks.map(\.Name))")
                return provider.platformID
            }
            // A stopped platform leaves no network behind (the next start makes them again).
            let engine = DockerEngine(endpoint: try await Requirements.dockerEndpoint(), client: HTTPClient.shared)
            #expect(try await engine.listNetworks(labels: ["\(DockerLabels.platform)=\(platformID)"]).isEmpty)
        }
    }
}

/// An empty Swiftlet database made by the store itself.
enum SQLiteFixture {
    static func create(_ path: String) throws -> Bool {
        _ = try SQLiteStore(path: path, logger: .init(label: "fixture"))
        return true
    }
}
