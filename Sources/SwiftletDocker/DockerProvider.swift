import AsyncHTTPClient
import Foundation
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import SwiftletCore
import SwiftletImages
import SwiftletProviders
import SwiftletRunners
import SwiftletSandbox

/// The provider that runs every instance as a container of a Docker engine, through the Engine
/// API (`DOCKER_HOST`, default `/var/run/docker.sock`), with the same hardening as the native
/// provider: all capabilities dropped, `no-new-privileges`, the engine's default seccomp profile,
/// a read-only root filesystem (code functions, or when asked), a non-root user, memory, CPU and
/// process limits, an init process, and no network. The gateway reaches each container at
/// 127.0.0.1 inside its network namespace, as on the native provider, so the engine must run on
/// this machine.
public final class DockerProvider: Provider {
    /// Settings of the Docker provider.
    public struct Configuration: Sendable {
        /// The data directory (code is unpacked under `code/`, bound into containers).
        public var dataDirectory: String
        /// Where the engine listens.
        public var endpoint: DockerEndpoint
        /// Memory per instance when a function sets no `limits.memory`.
        public var defaultMemoryBytes: Int64 = 256 * 1024 * 1024
        /// Processes and threads per instance.
        public var pidsLimit: Int64 = 256
        /// Size of each instance's `/tmp`.
        public var tmpSizeBytes: Int64 = 64 * 1024 * 1024
        /// Where the runners live (defaults to the ones shipped with the binary).
        public var runnersDirectory: String = SwiftletRunners.directory
        /// The base of the host-side run directories (secrets tmpfs, runners, image staging).
        public var runBase = "/run/swiftlet-docker"
        /// The host address debugger ports of debug-mode instances are forwarded to.
        public var debugBindAddress: String = DebugMode.defaultBindAddress
        /// The tier of functions that choose none.
        public var defaultIsolation: IsolationTier = .standard
        /// How long containers found running at start wait to be adopted before they are removed.
        public var adoptionWindow: Duration = .seconds(60)

        /// Creates a configuration.
        public init(dataDirectory: String, endpoint: DockerEndpoint) {
            self.dataDirectory = dataDirectory
            self.endpoint = endpoint
        }
    }

    /// The engine client.
    public let engine: DockerEngine
    /// The label value naming this platform's objects in the engine.
    public let platformID: String
    let configuration: Configuration
    let client: HTTPClient
    let host: SandboxHost
    let dialer: NetnsDialer
    let group: any EventLoopGroup
    let files: CodeFunctionFiles
    let runners: RunnerInstall
    let secrets: any SecretSource
    let sink: any InstanceLogSink
    let knownFunctions: @Sendable () async throws -> [FunctionSpec]
    let logger: Logger
    let state = NIOLockedValueBox(State())

    struct State {
        /// Running containers of the current specs found at start, by spec fingerprint.
        var adoptable: [String: [DockerContainerSummary]] = [:]
        var reconciled = false
        /// The reconciliation under way, shared by everyone who needs it done.
        var reconciling: Task<Void, any Error>?
        /// The runtime image's build, shared by concurrent first starts.
        var runtimeImage: Task<String, any Error>?
        var hardenedRuntime: String?
        var sweep: Task<Void, Never>?
    }

    /// Creates the provider; `knownFunctions` lists the stored functions (to tell adoptable
    /// containers from orphans). Call ``start()`` before starting instances.
    public init(
        configuration: Configuration, codeSource: any CodeSource, secrets: any SecretSource = NoSecrets(), sink: any InstanceLogSink,
        knownFunctions: @escaping @Sendable () async throws -> [FunctionSpec],
        group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton, logger: Logger
    ) throws {
        self.configuration = configuration
        self.client = HTTPClient(eventLoopGroupProvider: .shared(group), configuration: DockerEngine.clientConfiguration)
        self.engine = DockerEngine(endpoint: configuration.endpoint, client: client)
        self.host = SandboxHost(dataDirectory: configuration.dataDirectory, runBase: configuration.runBase)
        self.platformID = (host.runDirectory as NSString).lastPathComponent
        self.dialer = try NetnsDialer()
        self.group = group
        self.files = CodeFunctionFiles(dataDirectory: configuration.dataDirectory, codeSource: codeSource)
        self.runners = RunnerInstall(directory: host.runDirectory + "/runners")
        self.secrets = secrets
        self.sink = sink
        self.knownFunctions = knownFunctions
        self.logger = logger
    }

    public var orchestration: String { "docker" }

    var secretsBase: String { host.runDirectory + "/secrets" }

    public func start() async throws {
        do {
            try host.prepare()
            try files.prepareDirectories()
            try FileManager.default.createDirectory(atPath: secretsBase, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        } catch let error as SwiftletError {
            throw error
        } catch {
            throw SwiftletError(.internal, "cannot prepare \(host.runDirectory): \(error.localizedDescription); swiftlet must run as root", cause: error)
        }
        files.removeStaging()
        // Secrets of instances a crash left behind: their containers are adopted or removed below.
        for entry in (try? FileManager.default.contentsOfDirectory(atPath: secretsBase)) ?? [] {
            SecretsDirectory.unmount(secretsBase + "/" + entry)
        }
        try await runners.install(from: configuration.runnersDirectory, logger: logger)
        do {
            try await engine.ping()
        } catch {
            logger.error(
                "the Docker engine does not answer; calls get 503 until it does",
                metadata: ["swiftlet.docker_host": "\(engine.endpoint)", "error": "\((error as? SwiftletError)?.message ?? "\(error)")"]
            )
            return
        }
        try await reconcileOnce()
    }

    // MARK: Provider

    public func validate(_ spec: FunctionSpec, code: Data) throws -> FunctionSpec {
        var checked = spec
        if let runtime = spec.runtime {
            try files.validate(code, runtime: runtime)
        } else if let image = spec.image {
            checked.image = try ImageReference(parsing: image).description
        }
        return checked
    }

    public func prepare(_ spec: FunctionSpec, code: Data) async throws {
        try await prepare(spec, code: code, registryAuth: nil)
    }

    public func prepare(_ spec: FunctionSpec, code: Data, registryAuth: DeploymentValidator.RegistryAuth?) async throws {
        if spec.isDebug && DebugMode.isExposed(configuration.debugBindAddress) {
            logger.warning(
                "!!! DEBUG_BIND_ADDRESS is \(configuration.debugBindAddress): debugger ports of debug-mode functions are reachable from other machines. !!!",
                metadata: ["swiftlet.function": "\(spec.name)"]
            )
        }
        if spec.isolationTier(default: configuration.defaultIsolation) == .hardened {
            _ = try await hardenedRuntime()
        }
        try await files.prepare(spec, code: code)
        if let reference = spec.image {
            var image = try await engine.inspectImage(reference)
            if image == nil {
                let auth = try registryAuth.map { auth throws(SwiftletError) in
                    DockerRegistryAuth(username: auth.username, password: auth.password, serverAddress: try ImageReference(parsing: reference).registry)
                }
                try await engine.pullImage(reference, auth: auth)
                image = try await engine.inspectImage(reference)
            }
            // Refused at deploy rather than at every start: root, or nothing to run.
            try Self.checkImage(image, spec: spec, reference: reference)
        }
        if spec.networkAccess == .egress {
            _ = try await egressNetwork(for: spec.name)
        }
    }

    public func startInstance(of spec: FunctionSpec) async throws -> any FunctionInstance {
        try await reconcileOnce()
        if let adopted = try await adopt(spec) { return adopted }
        let id = "\(spec.name)-\(String(UInt32.random(in: 0...UInt32.max), radix: 16))"
        var config: DockerContainerConfig
        var port = NativeProvider.runnerPort
        var healthFallback = false
        var owner: (uid: UInt32?, gid: UInt32?) = (SandboxHost.functionUID, SandboxHost.functionUID)
        if let runtime = spec.runtime {
            let image = try await runtimeImage()
            let codePath = try await files.unpackedCode(for: spec, runtime: runtime)
            let pythonLayer = try await files.pythonLayer(codePath: codePath, runtime: runtime)
            config = DockerContainerConfig(image: image)
            config.Cmd = CodeFunctionFiles.runnerCommand(runtime, debug: spec.isDebug)
            var env = CodeFunctionFiles.environment(for: spec, instanceID: id)
            config.HostConfig.Mounts = RuntimeImage(host: host).hostMounts + [
                .init(source: runners.directory, target: "/opt/swiftlet/runner"), .init(source: codePath, target: "/home/app/function"),
            ]
            if let pythonLayer {
                config.HostConfig.Mounts.append(.init(source: pythonLayer, target: "/home/app/python"))
                env["PYTHONPATH"] = "/home/app/python"
            }
            config.Env = env.map { "\($0.key)=\($0.value)" }.sorted()
            config.User = "\(SandboxHost.functionUID):\(SandboxHost.functionUID)"
            config.HostConfig.ReadonlyRootfs = true
        } else {
            guard let reference = spec.image else {
                throw SwiftletError(.unsupported, "function '\(spec.name)' has neither a runtime nor an image")
            }
            var image = try await engine.inspectImage(reference)
            if image == nil {
                try await engine.pullImage(reference, auth: nil)
                image = try await engine.inspectImage(reference)
            }
            let imageConfig = image?.Config
            let user: String
            (user, owner) = try Self.checkImage(image, spec: spec, reference: reference)
            config = DockerContainerConfig(image: reference)
            var env: [String: String] = [:]
            for entry in imageConfig?.Env ?? [] {
                let parts = entry.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
                env[String(parts[0])] = parts.count > 1 ? String(parts[1]) : ""
            }
            for (key, value) in spec.envVars { env[key] = value }
            if let process = spec.envProcess, !process.isEmpty { env["fprocess"] = process }
            config.Env = env.map { "\($0.key)=\($0.value)" }.sorted()
            config.User = user
            config.HostConfig.ReadonlyRootfs = spec.rootFilesystemIsReadOnly
            port = ImageInstancePlan.port(Array((imageConfig?.ExposedPorts ?? [:]).keys))
            healthFallback = true
        }
        config.Hostname = id
        config.Labels = DockerLabels.instance(platform: platformID, spec: spec, instanceID: id)
        let memory = spec.memoryLimitBytes ?? configuration.defaultMemoryBytes
        config.HostConfig.Memory = memory
        config.HostConfig.MemorySwap = memory
        config.HostConfig.NanoCpus = spec.cpuLimit.map { Int64($0 * 1e9) } ?? 0
        config.HostConfig.PidsLimit = configuration.pidsLimit
        config.HostConfig.Tmpfs = ["/tmp": "rw,nosuid,nodev,size=\(configuration.tmpSizeBytes)"]
        if spec.isolationTier(default: configuration.defaultIsolation) == .hardened {
            config.HostConfig.Runtime = try await hardenedRuntime()
        }
        if spec.networkAccess == .egress {
            config.HostConfig.NetworkMode = try await egressNetwork(for: spec.name)
        }
        var secretsDirectory: String?
        if !spec.secrets.isEmpty {
            let directory = secretsBase + "/" + id
            try SecretsDirectory.mount(directory, secrets: try await secrets.secretValues(spec.secrets), uid: owner.uid, gid: owner.gid)
            secretsDirectory = directory
            config.HostConfig.Mounts.append(.init(source: directory, target: SecretsDirectory.mountPath))
        }
        var instanceLogger = logger
        instanceLogger[metadataKey: "swiftlet.function"] = "\(spec.name)"
        instanceLogger[metadataKey: "swiftlet.instance"] = "\(id)"
        var containerID: String?
        do {
            let created = try await engine.createContainer(name: "swiftlet-\(platformID)-\(id)", config)
            containerID = created
            try await engine.startContainer(created)
            let instance = try await makeInstance(
                id: id, containerID: created, spec: spec, port: port, healthFallback: healthFallback, secretsDirectory: secretsDirectory,
                logger: instanceLogger
            )
            instance.watch(sink: sink)
            return instance
        } catch {
            if let containerID { try? await engine.removeContainer(containerID) }
            if let secretsDirectory { SecretsDirectory.unmount(secretsDirectory) }
            throw error
        }
    }

    /// Wraps a started container: opens its network namespace and, in debug mode, forwards the
    /// debugger port to the host.
    private func makeInstance(
        id: String, containerID: String, spec: FunctionSpec, port: UInt16, healthFallback: Bool, secretsDirectory: String?, logger: Logger
    ) async throws -> DockerInstance {
        guard let container = try await engine.inspectContainer(containerID), let pid = container.State?.Pid, pid > 0,
            container.State?.Running == true
        else {
            throw SwiftletError(.badGateway, "the container of instance \(id) exited at once; see `swiftlet logs \(spec.name)`")
        }
        // A user named in the image may still map to uid 0 in its /etc/passwd: check the process
        // itself (with runc it is the container's init on this host; runsc's is its sandbox).
        if container.HostConfig?.Runtime != "runsc", Self.realUID(pid: pid) == 0 {
            throw SwiftletError(
                .invalidInput,
                "the container of \(spec.name) runs as root (its user '\(container.Config?.User ?? "")' is uid 0 in the image); Swiftlet never runs functions as root: set the label \(ImageInstancePlan.userLabel)=<uid>"
            )
        }
        let namespaceFD = open("/proc/\(pid)/ns/net", O_RDONLY | O_CLOEXEC)
        guard namespaceFD >= 0 else {
            throw SwiftletError(
                .internal,
                "cannot open the network namespace of container \(containerID.prefix(12)) (pid \(pid)): \(String(cString: strerror(errno))); the Docker engine must run on this machine and swiftlet as root"
            )
        }
        var forwarders: [DebugForwarder] = []
        if spec.isDebug, let runtime = spec.runtime {
            do {
                let forwarder = try await DebugForwarder.start(
                    debugger: DebugMode.debugger(for: runtime), bindAddress: configuration.debugBindAddress, namespaceFD: namespaceFD,
                    dialer: dialer, group: group, logger: logger
                )
                logger.notice("debugger forwarded", metadata: ["swiftlet.debug_endpoint": "\(forwarder.endpoint)"])
                forwarders.append(forwarder)
            } catch {
                Glibc.close(namespaceFD)
                throw error
            }
        }
        return DockerInstance(
            id: id, containerID: containerID, functionName: spec.name, engine: engine, namespaceFD: namespaceFD, dialer: dialer, group: group,
            port: port, healthFallback: healthFallback, secretsDirectory: secretsDirectory, debugForwarders: forwarders, logger: logger
        )
    }

    /// A running container of exactly `spec` found at start, wrapped as an instance (nil when none).
    private func adopt(_ spec: FunctionSpec) async throws -> DockerInstance? {
        let fingerprint = DockerLabels.fingerprint(spec)
        while let container = state.withLockedValue({ state -> DockerContainerSummary? in
            guard var list = state.adoptable[fingerprint], !list.isEmpty else { return nil }
            let first = list.removeFirst()
            state.adoptable[fingerprint] = list
            return first
        }) {
            let id = container.Labels?[DockerLabels.instance] ?? "\(spec.name)-adopted"
            var instanceLogger = logger
            instanceLogger[metadataKey: "swiftlet.function"] = "\(spec.name)"
            instanceLogger[metadataKey: "swiftlet.instance"] = "\(id)"
            do {
                // Its secrets tmpfs went with the crash: adopted instances keep the files they read.
                let port: UInt16
                if spec.runtime != nil {
                    port = NativeProvider.runnerPort
                } else {
                    let image = try await spec.image.asyncFlatMap { try await engine.inspectImage($0) }
                    port = ImageInstancePlan.port(Array((image?.Config?.ExposedPorts ?? [:]).keys))
                }
                let instance = try await makeInstance(
                    id: id, containerID: container.Id, spec: spec, port: port, healthFallback: spec.runtime == nil, secretsDirectory: nil,
                    logger: instanceLogger
                )
                instance.watch(sink: sink, logsSince: Int(Date().timeIntervalSince1970))
                instanceLogger.info("adopted a running instance")
                return instance
            } catch {
                instanceLogger.warning("cannot adopt a running instance; removing it", metadata: ["error": "\(error)"])
                try? await engine.removeContainer(container.Id)
            }
        }
        return nil
    }

    public func functionRemoved(_ spec: FunctionSpec) async {
        do {
            for container in try await engine.listContainers(labels: DockerLabels.filter(platform: platformID) + ["\(DockerLabels.function)=\(spec.name)"]) {
                try await engine.removeContainer(container.Id)
            }
            for network in try await engine.listNetworks(labels: DockerLabels.filter(platform: platformID) + ["\(DockerLabels.function)=\(spec.name)"]) {
                try await engine.removeNetwork(network.Id)
            }
        } catch {
            logger.warning(
                "cannot remove what the function left in the Docker engine; the next start (or `swiftlet gc`) does",
                metadata: ["swiftlet.function": "\(spec.name)", "error": "\(error)"]
            )
        }
    }

    public func health() async -> SwiftletError? {
        do {
            try await engine.ping(timeout: .seconds(2))
            try await reconcileOnce()
            return nil
        } catch {
            let message = (error as? SwiftletError)?.message ?? "\(error)"
            return SwiftletError(.unavailable, "instances cannot start: \(message)")
        }
    }

    public func shutdown() async {
        let sweep = state.withLockedValue { state -> Task<Void, Never>? in
            defer { state.sweep = nil }
            return state.sweep
        }
        sweep?.cancel()
        // Instances were stopped by the scheduler; remove what is left (also unadopted ones), and
        // the egress networks: the next start creates them again with the first instance.
        if let left = try? await engine.listContainers(labels: DockerLabels.filter(platform: platformID)) {
            for container in left { try? await engine.removeContainer(container.Id) }
        }
        if let networks = try? await engine.listNetworks(labels: DockerLabels.filter(platform: platformID)) {
            for network in networks { try? await engine.removeNetwork(network.Id) }
        }
        for entry in (try? FileManager.default.contentsOfDirectory(atPath: secretsBase)) ?? [] {
            SecretsDirectory.unmount(secretsBase + "/" + entry)
        }
        // The run directory holds the image staging, the runners' copy and the (now unmounted)
        // secrets directories: nothing a container still uses once they are gone.
        if (try? await engine.listContainers(labels: DockerLabels.filter(platform: platformID)))?.isEmpty ?? false {
            try? FileManager.default.removeItem(atPath: host.runDirectory)
            rmdir(configuration.runBase)
        }
        await close()
    }

    /// Releases the engine connection and the dialer without touching any container (`swiftlet gc`).
    public func close() async {
        await dialer.shutdown()
        try? await client.shutdown()
    }

}
