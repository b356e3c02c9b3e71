/// The body of `POST /containers/create`: the parts Swiftlet sets. Field names are the engine's.
public struct DockerContainerConfig: Encodable, Sendable {
    /// A bind or tmpfs mount.
    public struct Mount: Encodable, Sendable, Equatable {
        /// `bind`.
        public var `Type`: String = "bind"
        /// The host path.
        public var Source: String
        /// The path inside.
        public var Target: String
        /// Read-only.
        public var ReadOnly: Bool = true
        /// Bind options: never propagate mounts either way.
        public var BindOptions: BindOptions? = BindOptions()

        /// Options of a bind.
        public struct BindOptions: Encodable, Sendable, Equatable {
            /// `rprivate`.
            public var Propagation = "rprivate"
        }

        /// A read-only bind of `source` at `target`.
        public init(source: String, target: String) {
            Source = source
            Target = target
        }
    }

    /// Log driver settings.
    public struct LogSettings: Encodable, Sendable {
        /// `json-file` (so the log API can stream it).
        public var `Type` = "json-file"
        /// Driver options (size bounds).
        public var Config: [String: String] = ["max-size": "10m", "max-file": "2"]
    }

    /// The engine-side settings.
    public struct HostConfig: Encodable, Sendable {
        /// Mounts.
        public var Mounts: [Mount] = []
        /// `none` or a network name.
        public var NetworkMode = "none"
        /// Capabilities dropped (`ALL`).
        public var CapDrop: [String] = ["ALL"]
        /// `no-new-privileges` (the default seccomp profile stays: nothing turns it off).
        public var SecurityOpt: [String] = ["no-new-privileges"]
        /// A read-only root filesystem.
        public var ReadonlyRootfs = false
        /// tmpfs mounts (`/tmp`).
        public var Tmpfs: [String: String] = [:]
        /// Memory limit in bytes.
        public var Memory: Int64 = 0
        /// Memory plus swap: equal to `Memory`, so no swap.
        public var MemorySwap: Int64 = 0
        /// CPU limit in billionths of a CPU (0: none).
        public var NanoCpus: Int64 = 0
        /// Process limit.
        public var PidsLimit: Int64 = 0
        /// An init process reaps zombies and forwards signals.
        public var Init = true
        /// The OCI runtime (`runsc` for the hardened tier); nil is the engine's default.
        public var Runtime: String?
        /// Never restarted by the engine: the scheduler replaces instances.
        public var RestartPolicy: [String: String] = ["Name": "no"]
        /// Bounded log files.
        public var LogConfig = LogSettings()
        /// A private IPC namespace.
        public var IpcMode = "private"
    }

    /// Image reference or id.
    public var Image: String
    /// Overrides the image's entrypoint when set.
    public var Entrypoint: [String]?
    /// Overrides the image's command when set.
    public var Cmd: [String]?
    /// `KEY=value`.
    public var Env: [String] = []
    /// The user (`uid`, `uid:gid` or a name from the image).
    public var User: String?
    /// The working directory.
    public var WorkingDir: String?
    /// Labels naming the owner (``DockerLabels``).
    public var Labels: [String: String] = [:]
    /// The hostname (the instance id).
    public var Hostname: String?
    /// No network: nothing is exposed.
    public var NetworkDisabled: Bool?
    /// The host config.
    public var HostConfig = HostConfig()

    /// Creates a config for `image`.
    public init(image: String) {
        Image = image
    }
}
