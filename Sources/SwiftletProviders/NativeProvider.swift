import Foundation
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import SwiftletCore
import SwiftletRunners
import SwiftletSandbox

/// The provider that runs every instance in a sandbox on this machine: runc for the standard
/// tier (with a user namespace of its own per instance), gVisor's runsc for `hardened`.
public final class NativeProvider: Provider {
    /// Settings of the native provider.
    public struct Configuration: Sendable {
        /// The data directory (code is unpacked under `code/`).
        public var dataDirectory: String
        /// The OCI runtime binary of the standard tier.
        public var runtimePath: String
        /// The OCI runtime binary of the hardened tier (gVisor).
        public var hardenedRuntimePath: String = "/usr/bin/runsc"
        /// The tier of functions that choose none (`swiftlet up --default-isolation`).
        public var defaultIsolation: IsolationTier = .standard
        /// Whether standard-tier instances get a user namespace each (when the kernel allows user
        /// namespaces, and for image functions idmapped mounts; checked at start).
        public var userNamespaces = true
        /// Memory per instance when a function sets no `limits.memory`.
        public var defaultMemoryBytes: Int64
        /// Processes and threads per instance.
        public var pidsLimit: Int64
        /// Size of each instance's `/tmp`.
        public var tmpSizeBytes: Int64
        /// Where the runners live (defaults to the ones shipped with the binary).
        public var runnersDirectory: String
        /// The base of the run directories (`/run/swiftlet`).
        public var runBase: String
        /// The host address debugger ports of debug-mode instances are forwarded to
        /// (`DEBUG_BIND_ADDRESS`, default 127.0.0.1).
        public var debugBindAddress: String = DebugMode.defaultBindAddress

        /// Creates a configuration.
        public init(
            dataDirectory: String, runtimePath: String = "/usr/bin/runc", defaultMemoryBytes: Int64 = 256 * 1024 * 1024,
            pidsLimit: Int64 = 256, tmpSizeBytes: Int64 = 64 * 1024 * 1024, runnersDirectory: String = SwiftletRunners.directory,
            runBase: String = "/run/swiftlet"
        ) {
            self.dataDirectory = dataDirectory
            self.runtimePath = runtimePath
            self.defaultMemoryBytes = defaultMemoryBytes
            self.pidsLimit = pidsLimit
            self.tmpSizeBytes = tmpSizeBytes
            self.runnersDirectory = runnersDirectory
            self.runBase = runBase
        }
    }

    /// The port runners listen on inside the sandbox.
    public static let runnerPort: UInt16 = 8080

    let configuration: Configuration
    let host: SandboxHost
    private let dialer: NetnsDialer
    private let group: any EventLoopGroup
    private let files: CodeFunctionFiles
    private let images: (any ImageResolver)?
    private let sink: any InstanceLogSink
    let logger: Logger
    /// What the host offers each isolation tier (found by ``start()``).
    let tiers: NIOLockedValueBox<NativeTierSupport>
    private let secrets: any SecretSource
    private let runners: RunnerInstall
    /// The warm sandboxes cold starts of code functions are served from (nil when disabled);
    /// run it as a service next to the scheduler.
    public let warmPool: WarmPool?

    /// Creates the provider; call ``start()`` before starting instances.
    public init(
        configuration: Configuration, codeSource: any CodeSource, secrets: any SecretSource = NoSecrets(),
        images: (any ImageResolver)? = nil, warmPool: WarmPool.Settings = .disabled, sink: any InstanceLogSink,
        group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton, logger: Logger
    ) throws {
        self.configuration = configuration
        self.host = SandboxHost(
            dataDirectory: configuration.dataDirectory, runtimePath: configuration.runtimePath,
            hardenedRuntimePath: configuration.hardenedRuntimePath, runBase: configuration.runBase
        )
        self.dialer = try NetnsDialer()
        self.group = group
        self.files = CodeFunctionFiles(dataDirectory: configuration.dataDirectory, codeSource: codeSource)
        self.images = images
        self.sink = sink
        self.logger = logger
        self.secrets = secrets
        self.runners = RunnerInstall(directory: host.runDirectory + "/runners")
        let tiers = NIOLockedValueBox(NativeTierSupport())
        self.tiers = tiers
        if warmPool.sizes.isEmpty {
            self.warmPool = nil
        } else {
            var poolLogger = logger
            poolLogger[metadataKey: "swiftlet.component"] = "warm-pool"
            let maker = WarmSandboxMaker(
                configuration: configuration, runners: runners.directory, host: host, dialer: dialer, group: group, sink: sink,
                tiers: tiers, logger: poolLogger
            )
            self.warmPool = WarmPool(settings: warmPool, logger: poolLogger) { runtime in try await maker.make(runtime) }
        }
    }

    public func start() async throws {
        try await host.runtime.checkAvailable()
        try await checkTiers()
        try host.prepare()
        try files.prepareDirectories()
        try await removeStale()
        try await runners.install(from: configuration.runnersDirectory, logger: logger)
        warnIfDebugExposed(nil)
    }

    /// Removes containers, bundles and cgroups left by an earlier run (also after `kill -9`).
    public func removeStale() async throws {
        for runtime in runtimes {
            for id in try await runtime.list() {
                logger.info("removing sandbox left by an earlier run", metadata: ["swiftlet.instance": "\(id)"])
                try await runtime.delete(id: id)
            }
        }
        let fm = FileManager.default
        for entry in (try? fm.contentsOfDirectory(atPath: host.bundles)) ?? [] {
            // An instance's mounts (writable layer, secrets, code binds) come off before its bundle goes.
            SandboxInstance.removeBundle(host.bundles + "/" + entry)
        }
        // Empty cgroup directories of instances runc no longer knows.
        for controller in (try? fm.contentsOfDirectory(atPath: "/sys/fs/cgroup")) ?? [] {
            let parent = "/sys/fs/cgroup/" + controller + host.cgroupParent
            for entry in (try? fm.contentsOfDirectory(atPath: parent)) ?? [] {
                var isDir: ObjCBool = false
                if fm.fileExists(atPath: parent + "/" + entry, isDirectory: &isDir), isDir.boolValue {
                    rmdir(parent + "/" + entry)
                }
            }
        }
        files.removeStaging()
    }

    public func validate(_ spec: FunctionSpec, code: Data) throws -> FunctionSpec {
        var checked = spec
        if spec.isolationTier(default: configuration.defaultIsolation) == .hardened, let reason = tiers.withLockedValue({ $0.hardenedMissing }) {
            throw SwiftletError(.unsupported, "isolation 'hardened' needs gVisor on this host: \(reason)")
        }
        if spec.networkAccess == .egress {
            throw SwiftletError(
                .unsupported, "label \(NetworkAccess.label)=egress needs the Docker provider (`swiftlet up --provider docker`); native instances have only loopback"
            )
        }
        if let runtime = spec.runtime {
            try files.validate(code, runtime: runtime)
        } else if let image = spec.image {
            guard let images else {
                throw SwiftletError(.unsupported, "this Swiftlet has no image store; deploy a code function with \"runtime\" and \"code\"")
            }
            checked.image = try images.normalizeReference(image)
        }
        return checked
    }

    public func prepare(_ spec: FunctionSpec, code: Data) async throws {
        if spec.isDebug { warnIfDebugExposed(spec.name) }
        try await files.prepare(spec, code: code)
    }

    public func startInstance(of spec: FunctionSpec) async throws -> any FunctionInstance {
        let id = "\(spec.name)-\(String(UInt32.random(in: 0...UInt32.max), radix: 16))"
        var sandboxSpec = SandboxSpec(
            id: id, args: [], env: [],
            memoryLimitBytes: spec.memoryLimitBytes ?? configuration.defaultMemoryBytes,
            cpuLimit: spec.cpuLimit,
            cpuRequest: spec.cpuRequest,
            memoryRequestBytes: spec.memoryRequestBytes,
            pidsLimit: configuration.pidsLimit,
            tmpSizeBytes: configuration.tmpSizeBytes
        )
        let port: UInt16
        let isImage: Bool
        let secretValues = spec.secrets.isEmpty ? [:] : try await secrets.secretValues(spec.secrets)
        if !spec.secrets.isEmpty { sandboxSpec.secrets = secretValues }
        let tier = spec.isolationTier(default: configuration.defaultIsolation)
        sandboxSpec.isolation = tier
        if let runtime = spec.runtime {
            let codePath = try await files.unpackedCode(for: spec, runtime: runtime)
            let pythonLayer = try await files.pythonLayer(codePath: codePath, runtime: runtime)
            // Debug instances start their runtime with debugger flags, hardened ones under
            // runsc: neither comes from the (runc) warm pool.
            if let warmPool, !spec.isDebug, tier == .standard, let sandbox = await warmPool.take(runtime) {
                do {
                    return try await specialise(
                        sandbox, spec: spec, code: codePath, python: pythonLayer, secrets: secretValues, limits: CgroupLimits(sandboxSpec)
                    )
                } catch {
                    logger.warning(
                        "cannot specialise a warm sandbox; starting a new one",
                        metadata: ["swiftlet.function": "\(spec.name)", "swiftlet.instance": "\(sandbox.id)", "error": "\(error)"]
                    )
                    await sandbox.stop()
                    if let error = error as? SwiftletError, error.code == .badGateway { throw error }
                }
            }
            sandboxSpec.args = CodeFunctionFiles.runnerCommand(runtime, debug: spec.isDebug)
            let env = CodeFunctionFiles.environment(for: spec, instanceID: id)
            sandboxSpec.env = env.map { "\($0.key)=\($0.value)" }.sorted()
            sandboxSpec.readOnlyBinds = [(codePath, "/home/app/function"), (runners.directory, "/opt/swiftlet/runner")]
            if let pythonLayer {
                sandboxSpec.readOnlyBinds.append((pythonLayer, "/home/app/python"))
                sandboxSpec.env.append("PYTHONPATH=/home/app/python")
            }
            sandboxSpec.readyPipe = true
            // Code functions see only root-owned read-only files and their own tmpfs: their ids
            // can map to a block of host ids of their own. (gVisor has its own user namespace.)
            sandboxSpec.mapsUsers = tier == .standard && usesUserNamespaces(image: false)
            port = Self.runnerPort
            isImage = false
        } else {
            guard let images, let reference = spec.image else {
                throw SwiftletError(.unsupported, "function '\(spec.name)' has neither a runtime nor an image this Swiftlet can run")
            }
            let image = try await images.resolveImage(reference)
            let plan = try ImageInstancePlan(image: image, spec: spec)
            try ImageMountPoints.prepare(rootfs: image.rootfs)
            sandboxSpec.root = .image(path: image.rootfs, writable: !spec.rootFilesystemIsReadOnly)
            sandboxSpec.args = plan.args
            var env = plan.env
            env["HOSTNAME"] = id
            sandboxSpec.env = env.map { "\($0.key)=\($0.value)" }.sorted()
            sandboxSpec.cwd = plan.cwd
            sandboxSpec.uid = plan.uid
            sandboxSpec.gid = plan.gid
            // The image's files are shown through an idmapped view, so its ids can map too.
            sandboxSpec.mapsUsers = tier == .standard && usesUserNamespaces(image: true)
            port = plan.port
            isImage = true
        }
        var instanceLogger = logger
        instanceLogger[metadataKey: "swiftlet.function"] = "\(spec.name)"
        let sandbox = try await SandboxInstance.start(
            spec: sandboxSpec, host: host, dialer: dialer, group: group, functionName: spec.name, sink: sink, logger: instanceLogger
        )
        let forwarders = try await debugForwarders(for: spec, sandbox: sandbox, logger: instanceLogger)
        return NativeInstance(
            sandbox: sandbox, dialer: dialer, group: group, port: port, healthFallback: isImage, debugForwarders: forwarders
        )
    }

    public func shutdown() async {
        try? await removeStale()
        // The per-host cgroup parents are empty now: remove them too.
        let fm = FileManager.default
        for controller in (try? fm.contentsOfDirectory(atPath: "/sys/fs/cgroup")) ?? [] {
            let parent = "/sys/fs/cgroup/" + controller + host.cgroupParent
            if rmdir(parent) == 0 {
                rmdir((parent as NSString).deletingLastPathComponent)
            }
        }
        // The run directory holds only runtime state, bundles, the empty rootfs and the generated
        // /etc (nothing is mounted on the host side): remove it when no container is left.
        var noneLeft = true
        for runtime in runtimes where (try? await runtime.list())?.isEmpty != true { noneLeft = false }
        if noneLeft {
            try? fm.removeItem(atPath: host.runDirectory)
            rmdir((host.runDirectory as NSString).deletingLastPathComponent)
        }
        await dialer.shutdown()
    }

    /// The runtimes whose state may hold this platform's containers: runc, and runsc where it is
    /// installed (without it there is no runsc state to clean either).
    private var runtimes: [RuncDriver] {
        FileManager.default.isExecutableFile(atPath: host.hardenedRuntime.runtimePath) ? [host.runtime, host.hardenedRuntime] : [host.runtime]
    }

    /// Makes `sandbox` (warm, runner listening) an instance of `spec`.
    private func specialise(
        _ sandbox: SandboxInstance, spec: FunctionSpec, code: String, python: String?, secrets: [String: Data], limits: CgroupLimits
    ) async throws -> any FunctionInstance {
        let id = "\(spec.name)-\(sandbox.id.split(separator: "-").last ?? "0")"
        try sandbox.attach(code: code, python: python)
        if !secrets.isEmpty { try sandbox.writeSecrets(secrets) }
        try limits.apply(to: sandbox.cgroupPath, from: WarmSandboxMaker.limits(configuration))
        sandbox.relabel(function: spec.name, instance: id)
        let instance = NativeInstance(sandbox: sandbox, id: id, dialer: dialer, group: group, port: Self.runnerPort)
        var env = CodeFunctionFiles.environment(for: spec, instanceID: id)
        for key in WarmSandboxMaker.baseEnvironment.keys where env[key] == WarmSandboxMaker.baseEnvironment[key] {
            env.removeValue(forKey: key)
        }
        do {
            try await instance.specialise(env: env, pythonPath: python == nil ? [] : ["/home/app/python"])
        } catch {
            await instance.stop()
            throw error
        }
        return instance
    }

    static func runnerCommand(_ runtime: Runtime) -> [String] {
        switch runtime {
        case .python3: RunnerInstall.pythonCommand
        case .node: ["/usr/bin/node", "/opt/swiftlet/runner/node/runner.js"]
        }
    }

    /// In debug mode, forwards the runtime's debugger port of `sandbox` to the host; on failure
    /// the sandbox is stopped.
    private func debugForwarders(for spec: FunctionSpec, sandbox: SandboxInstance, logger: Logger) async throws -> [DebugForwarder] {
        guard spec.isDebug, let runtime = spec.runtime else { return [] }
        let debugger = DebugMode.debugger(for: runtime)
        do {
            let forwarder = try await DebugForwarder.start(
                debugger: debugger, bindAddress: configuration.debugBindAddress, namespaceFD: sandbox.namespaceFD, dialer: dialer,
                group: group, logger: logger
            )
            logger.notice(
                "debugger forwarded",
                metadata: ["swiftlet.debugger": "\(debugger.name)", "swiftlet.debug_endpoint": "\(forwarder.endpoint)"]
            )
            warnIfDebugExposed(spec.name)
            return [forwarder]
        } catch {
            await sandbox.stop()
            throw error
        }
    }

    /// Logs a loud warning when debugger ports are bound beyond loopback (at start, deploy and
    /// each debug instance): whoever reaches a debugger runs code inside the function.
    private func warnIfDebugExposed(_ function: String?) {
        let address = configuration.debugBindAddress
        guard DebugMode.isExposed(address) else { return }
        var metadata: Logger.Metadata = ["swiftlet.debug_bind_address": "\(address)"]
        if let function { metadata["swiftlet.function"] = "\(function)" }
        logger.warning(
            "!!! DEBUG_BIND_ADDRESS is \(address): debugger ports of debug-mode functions are reachable from other machines, and anyone who connects can run arbitrary code in the function. Use 127.0.0.1 and an SSH tunnel instead. !!!",
            metadata: metadata
        )
    }

}
