import AsyncHTTPClient
import Foundation
import NIOCore
import SwiftletSandbox
import Testing

extension EndToEnd {
    /// The real binary: `swiftlet up` started and killed, and the CLI against it.
    @Suite("End to end: the swiftlet binary")
    struct BinaryTests {
        @Test("swiftlet up refuses a bad --warm-pool at once with a clear message", arguments: ["ruby=2", "python3", "python3=-1", "node=65", "python3=lots"])
        func badWarmPool(_ value: String) async throws {
            let result = try await SwiftletBinary.run(["up", "--warm-pool", value, "--data-dir", "/nonexistent/swiftlet-never-created"])
            #expect(result.status != 0)
            #expect(result.stderr.contains("--warm-pool"), "\(result.stderr)")
            #expect(!FileManager.default.fileExists(atPath: "/nonexistent/swiftlet-never-created"))
        }

        @Test(
            "swiftlet up refuses bad async, log and limit options at once, naming the option",
            arguments: [
                ["--async-workers", "0"], ["--async-workers", "20000"], ["--async-lease", "0s"], ["--async-lease", "banana"],
                ["--async-lease", "2h"], ["--async-retention", "-1h"], ["--async-retention", "forever"],
                ["--log-max-bytes", "10"], ["--log-files", "0"], ["--log-files", "101"],
                ["--rate-limit", "0"], ["--rate-limit", "x/y"], ["--rate-limit", "10/0"], ["--function-rate-limit", "-5"],
                ["--max-connections", "0"], ["--max-connections-per-client", "0"], ["--max-connections-per-client", "5000"],
                ["--header-timeout", "0s"], ["--header-timeout", "soon"], ["--body-timeout", "2h"],
                ["--cors-origin", "evil"], ["--cors-origin", "https://app.example.com/path"], ["--cors-origin", "ftp://x.example"],
                ["--default-isolation", "paranoid"], ["--default-isolation", ""], ["--default-isolation", "HARDENED "],
            ]
        )
        func badAsyncAndLogOptions(_ arguments: [String]) async throws {
            let result = try await SwiftletBinary.run(["up"] + arguments + ["--data-dir", "/nonexistent/swiftlet-never-created"])
            #expect(result.status != 0)
            #expect(result.stderr.contains(arguments[0]), "\(result.stderr)")
            #expect(!FileManager.default.fileExists(atPath: "/nonexistent/swiftlet-never-created"))
        }

        @Test("swiftlet up --default-isolation hardened with a runsc that is not there stops at once, saying what to install")
        func defaultHardenedWithoutRunsc() async throws {
            let directory = TestPlatform.makeTemporaryDirectory()
            defer { try? FileManager.default.removeItem(atPath: directory) }
            let result = try await SwiftletBinary.run([
                "up", "--data-dir", directory, "--port", "0", "--no-metrics-port", "--runsc", "/nonexistent/runsc", "--default-isolation", "hardened",
            ])
            #expect(result.status != 0)
            #expect(result.stderr.contains("--default-isolation hardened needs gVisor on this host"), "\(result.stderr)")
            #expect(result.stderr.contains("apt-get install runsc"), "\(result.stderr)")
            #expect(!FileManager.default.fileExists(atPath: SandboxHost(dataDirectory: directory).runDirectory), "no sandbox state was made")
        }

        @Test("kill -9 of swiftlet up leaves sandboxes that the next start removes; SIGTERM leaves nothing")
        func killNineRecovery() async throws {
            try Requirements.check()
            let directory = TestPlatform.makeTemporaryDirectory()
            let host = SandboxHost(dataDirectory: directory)
            let processes = ProcessList()
            do {
                try await killNineSteps(directory: directory, host: host, processes: processes)
            } catch {
                await cleanUp(directory: directory, host: host, processes: processes)
                throw error
            }
            await cleanUp(directory: directory, host: host, processes: processes)
        }

        /// Removes whatever the kill -9 test left, also when it failed.
        private func cleanUp(directory: String, host: SandboxHost, processes: ProcessList) async {
            for process in processes.all where process.isRunning {
                kill(process.processIdentifier, SIGKILL)
                await SwiftletBinary.waitForExit(process)
            }
            for id in (try? await host.runtime.list()) ?? [] {
                try? await host.runtime.delete(id: id)
            }
            try? FileManager.default.removeItem(atPath: directory)
        }

        private func killNineSteps(directory: String, host: SandboxHost, processes: ProcessList) async throws {
            let (first, port, _) = try SwiftletBinary.startUp(dataDirectory: directory)
            processes.append(first)
            let gateway = "http://127.0.0.1:\(port)"
            #expect(try await eventually { (try? await HTTPClient.shared.get(url: gateway + "/healthz").get().status.code) == 200 })
            let handler = directory + "-handler.py"
            try Data(Handlers.version("survivor").utf8).write(to: URL(fileURLWithPath: handler))
            defer { try? FileManager.default.removeItem(atPath: handler) }
            let deploy = try await SwiftletBinary.run(["deploy", "survivor", "--runtime", "python3", "--code", handler, "--gateway", gateway, "--data-dir", directory])
            #expect(deploy.status == 0, "\(deploy.stderr)")
            let invoke = try await SwiftletBinary.run(["invoke", "survivor", "--gateway", gateway, "--data", ""])
            #expect(invoke.stdout == "survivor", "\(invoke.stderr)")
            let hardened = try await SwiftletBinary.run([
                "deploy", "survivor-gv", "--runtime", "python3", "--code", handler, "--isolation", "hardened", "--gateway", gateway, "--data-dir", directory,
            ])
            #expect(hardened.status == 0, "\(hardened.stderr)")
            let invokeHardened = try await SwiftletBinary.run(["invoke", "survivor-gv", "--gateway", gateway, "--data", ""])
            #expect(invokeHardened.stdout == "survivor", "\(invokeHardened.stderr)")

            kill(first.processIdentifier, SIGKILL)
            await SwiftletBinary.waitForExit(first)
            let hardenedLeftovers = try await host.hardenedRuntime.list()
            #expect(hardenedLeftovers.count == 1, "the gVisor sandbox stays behind too: \(hardenedLeftovers)")
            let leftovers = try await host.runtime.list()
            // The instance of `survivor` (in a new or a specialised warm sandbox) and whatever the
            // warm pool held stay behind.
            #expect(!leftovers.isEmpty, "kill -9 should leave the running sandboxes behind")

            let (second, port2, log) = try SwiftletBinary.startUp(dataDirectory: directory)
            processes.append(second)
            let gateway2 = "http://127.0.0.1:\(port2)"
            #expect(try await eventually { (try? await HTTPClient.shared.get(url: gateway2 + "/healthz").get().status.code) == 200 })
            let again = try await SwiftletBinary.run(["invoke", "survivor", "--gateway", gateway2, "--data", ""])
            #expect(again.stdout == "survivor", "\(again.stderr)")
            let now = try await host.runtime.list()
            #expect(Set(now).isDisjoint(with: leftovers), "the old sandbox must be gone: \(now)")
            #expect(Set(try await host.hardenedRuntime.list()).isDisjoint(with: hardenedLeftovers), "the old gVisor sandbox is gone")
            let mounts = try String(contentsOfFile: "/proc/self/mountinfo", encoding: .utf8)
            #expect(hardenedLeftovers.allSatisfy { !mounts.contains(host.bundles + "/" + $0 + "/") }, "its namespace file is unmounted")
            let output = try String(contentsOf: log, encoding: .utf8)
            #expect(output.contains("removing sandbox left by an earlier run"))

            kill(second.processIdentifier, SIGTERM)
            await SwiftletBinary.waitForExit(second)
            #expect(second.terminationStatus == 0)
            #expect(try await host.runtime.list().isEmpty)
            #expect(try await host.hardenedRuntime.list().isEmpty)
            #expect(!FileManager.default.fileExists(atPath: host.runDirectory), "the run directory is removed at shutdown")
            for controller in ["memory", "pids", "cpu"] {
                #expect(!FileManager.default.fileExists(atPath: "/sys/fs/cgroup/\(controller)\(host.cgroupParent)"))
            }
            try? FileManager.default.removeItem(at: log)
        }

        @Test("CLI errors are one line on stderr with a non-zero exit")
        func cliErrors() async throws {
            let down = "http://127.0.0.1:\(try SwiftletBinary.freePort())"
            let list = try await SwiftletBinary.run(["list", "--gateway", down])
            #expect(list.status != 0)
            #expect(list.stderr.hasPrefix("error: cannot reach the gateway"), "\(list.stderr)")
            #expect(list.stderr.split(separator: "\n").count == 1)

            let missing = try await SwiftletBinary.run(["deploy", "x", "--runtime", "python3", "--code", "/nonexistent/handler.py", "--gateway", down])
            #expect(missing.status != 0)
            #expect(missing.stderr.contains("does not exist"))

            let badName = try await SwiftletBinary.run(["invoke", "Bad_Name", "--gateway", down])
            #expect(badName.status != 0)
            #expect(badName.stderr.contains("invalid function name"))

            let badURL = try await SwiftletBinary.run(["list", "--gateway", "ftp://example"])
            #expect(badURL.status != 0)
            #expect(badURL.stderr.contains("not an http(s) URL"))

            let badPort = try await SwiftletBinary.run(["up", "--port", "70000"])
            #expect(badPort.status != 0)
            #expect(badPort.stderr.contains("--port"))
        }

        @Test("the CLI deploys a folder, invokes with stdin, lists, describes and removes")
        func cliWorkflow() async throws {
            try await TestPlatform.with { platform in
                let folder = platform.dataDirectory + "-fn"
                try FileManager.default.createDirectory(atPath: folder + "/lib", withIntermediateDirectories: true)
                defer { try? FileManager.default.removeItem(atPath: folder) }
                try Data("GREETING = 'hi from a bundle'\n".utf8).write(to: URL(fileURLWithPath: folder + "/lib/consts.py"))
                try Data("".utf8).write(to: URL(fileURLWithPath: folder + "/lib/__init__.py"))
                try Data(
                    """
                    from .lib.consts import GREETING
                    def handle(event, context):
                        return {"statusCode": 200, "body": GREETING + ": " + event.body.decode()}
                    """.utf8
                ).write(to: URL(fileURLWithPath: folder + "/handler.py"))
                let env = ["SWIFTLET_URL": platform.baseURL, "SWIFTLET_USER": "admin", "SWIFTLET_PASSWORD": platform.credentials.password]
                let deploy = try await SwiftletBinary.run(["deploy", "bundle", "--runtime", "python3", "--code", folder, "--env", "A=1", "--label", "team=x"], environment: env)
                #expect(deploy.status == 0, "\(deploy.stderr)")
                #expect(deploy.stdout.contains("deployed bundle"))
                let invoke = try await SwiftletBinary.run(["invoke", "bundle"], environment: env, stdin: "stdin body")
                #expect(invoke.stdout == "hi from a bundle: stdin body", "\(invoke.stderr)")
                let redeploy = try await SwiftletBinary.run(["deploy", "bundle", "--runtime", "python3", "--code", folder], environment: env)
                #expect(redeploy.stdout.contains("updated bundle"), "\(redeploy.stderr)")
                let list = try await SwiftletBinary.run(["list"], environment: env)
                #expect(list.stdout.contains("bundle"))
                #expect(list.stdout.contains("python3"))
                let describe = try await SwiftletBinary.run(["describe", "bundle"], environment: env)
                #expect(describe.stdout.contains("Runtime:      python3"), "\(describe.stdout)")
                let wrongPassword = try await SwiftletBinary.run(["list"], environment: env.merging(["SWIFTLET_PASSWORD": "wrong"]) { $1 })
                #expect(wrongPassword.status != 0)
                #expect(wrongPassword.stderr.contains("refused the credentials"))
                let remove = try await SwiftletBinary.run(["remove", "bundle"], environment: env)
                #expect(remove.status == 0, "\(remove.stderr)")
                let gone = try await SwiftletBinary.run(["invoke", "bundle", "--data", "x"], environment: env)
                #expect(gone.status != 0)
                #expect(gone.stderr.contains("404"))
            }
        }
    }
}

/// The processes a test started, for clean-up.
final class ProcessList: @unchecked Sendable {
    private let lock = NSLock()
    private var processes: [Process] = []

    func append(_ process: Process) { lock.withLock { processes.append(process) } }
    var all: [Process] { lock.withLock { processes } }
}
