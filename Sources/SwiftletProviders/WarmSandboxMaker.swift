import Logging
import NIOConcurrencyHelpers
import NIOCore
import SwiftletCore
import SwiftletSandbox

/// Starts the generic sandboxes of the warm pool: the runner of one runtime in warm mode, with
/// the platform's default limits, empty code slots and an empty secrets directory.
struct WarmSandboxMaker: Sendable {
    let configuration: NativeProvider.Configuration
    /// The installed runners (see ``RunnerInstall``).
    let runners: String
    let host: SandboxHost
    let dialer: NetnsDialer
    let group: any EventLoopGroup
    let sink: any InstanceLogSink
    /// What the host offers (user namespaces), found when the provider starts.
    let tiers: NIOLockedValueBox<NativeTierSupport>
    let logger: Logger

    /// The environment every runner starts with (a function's own variables come on top).
    static let baseEnvironment: [String: String] = [
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "HOME": "/home/app",
        "LANG": "C.UTF-8",
        "PYTHONDONTWRITEBYTECODE": "1",
        "PYTHONUNBUFFERED": "1",
        "TMPDIR": "/tmp",
        "SWIFTLET_FUNCTION_DIR": "/home/app/function",
        "SWIFTLET_RUNNER_PORT": String(NativeProvider.runnerPort),
    ]

    /// The limits a warm sandbox starts with.
    static func limits(_ configuration: NativeProvider.Configuration) -> CgroupLimits {
        CgroupLimits(spec(id: "", runtime: .python3, runners: "", configuration: configuration))
    }

    static func spec(
        id: String, runtime: Runtime, runners: String, configuration: NativeProvider.Configuration, mapsUsers: Bool = false
    ) -> SandboxSpec {
        var env = baseEnvironment
        env["SWIFTLET_WARM"] = "1"
        env["HOSTNAME"] = id
        var spec = SandboxSpec(
            id: id, args: NativeProvider.runnerCommand(runtime), env: env.map { "\($0.key)=\($0.value)" }.sorted(),
            readOnlyBinds: [(runners, "/opt/swiftlet/runner")],
            memoryLimitBytes: configuration.defaultMemoryBytes, pidsLimit: configuration.pidsLimit,
            tmpSizeBytes: configuration.tmpSizeBytes
        )
        spec.warm = true
        spec.readyPipe = true
        spec.mapsUsers = mapsUsers
        return spec
    }

    /// Starts one warm sandbox of `runtime` and returns once its runner listens.
    func make(_ runtime: Runtime) async throws -> SandboxInstance {
        let id = "warm-\(runtime.rawValue)-\(String(UInt32.random(in: 0...UInt32.max), radix: 16))"
        let spec = Self.spec(
            id: id, runtime: runtime, runners: runners, configuration: configuration, mapsUsers: tiers.withLockedValue { $0.userNamespaces }
        )
        let sandbox = try await SandboxInstance.start(
            spec: spec, host: host, dialer: dialer, group: group, functionName: "(warm pool)", sink: sink, logger: logger
        )
        let ready = await sandbox.waitForReadySignal(timeout: .seconds(30))
        guard ready == true else {
            let output = sandbox.recentOutput.suffix(5).joined(separator: " | ")
            await sandbox.stop()
            throw SwiftletError(.unavailable, "the warm \(runtime.rawValue) runner did not start; its last output: \(output.isEmpty ? "(nothing)" : output)")
        }
        return sandbox
    }
}
