/// An image config blob (OCI `application/vnd.oci.image.config.v1+json` or its Docker twin), with
/// the fields Swiftlet uses.
public struct OCIImageConfiguration: Codable, Sendable, Hashable {
    /// When the image was built (RFC 3339), if recorded.
    public var created: String?
    /// The CPU architecture (`amd64`).
    public var architecture: String?
    /// The operating system (`linux`).
    public var os: String?
    /// How to run the image.
    public var config: Container?
    /// The uncompressed layer digests.
    public var rootfs: RootFS

    /// Creates a config.
    public init(created: String? = nil, architecture: String? = "amd64", os: String? = "linux", config: Container? = nil, rootfs: RootFS) {
        self.created = created
        self.architecture = architecture
        self.os = os
        self.config = config
        self.rootfs = rootfs
    }

    /// The `config` object: how to run the image.
    public struct Container: Codable, Sendable, Hashable {
        /// `Entrypoint`.
        public var entrypoint: [String]?
        /// `Cmd`.
        public var cmd: [String]?
        /// `Env`, as `KEY=value`.
        public var env: [String]?
        /// `WorkingDir`.
        public var workingDir: String?
        /// `User`.
        public var user: String?
        /// `ExposedPorts`, keyed `8080/tcp`.
        public var exposedPorts: [String: IgnoredJSON]?
        /// `Labels`.
        public var labels: [String: String]?

        /// Creates a run config.
        public init(
            entrypoint: [String]? = nil, cmd: [String]? = nil, env: [String]? = nil, workingDir: String? = nil, user: String? = nil,
            exposedPorts: [String] = [], labels: [String: String]? = nil
        ) {
            self.entrypoint = entrypoint
            self.cmd = cmd
            self.env = env
            self.workingDir = workingDir
            self.user = user
            self.exposedPorts = exposedPorts.isEmpty ? nil : Dictionary(uniqueKeysWithValues: exposedPorts.map { ($0, IgnoredJSON()) })
            self.labels = labels
        }

        enum CodingKeys: String, CodingKey {
            case entrypoint = "Entrypoint", cmd = "Cmd", env = "Env", workingDir = "WorkingDir", user = "User"
            case exposedPorts = "ExposedPorts", labels = "Labels"
        }
    }

    /// The `rootfs` object: the layers' uncompressed digests.
    public struct RootFS: Codable, Sendable, Hashable {
        /// Always `layers`.
        public var type: String
        /// The sha256 of each uncompressed layer tar, lowest first.
        public var diffIDs: [Digest]

        /// Creates a rootfs description.
        public init(type: String = "layers", diffIDs: [Digest]) {
            self.type = type
            self.diffIDs = diffIDs
        }

        enum CodingKeys: String, CodingKey {
            case type
            case diffIDs = "diff_ids"
        }
    }

    /// The parts of the config an instance needs.
    public var summary: ImageConfig {
        ImageConfig(
            entrypoint: config?.entrypoint ?? [], cmd: config?.cmd ?? [], env: config?.env ?? [],
            workingDir: config?.workingDir.flatMap { $0.isEmpty ? nil : $0 }, user: config?.user.flatMap { $0.isEmpty ? nil : $0 },
            exposedPorts: (config?.exposedPorts?.keys).map { $0.sorted() } ?? []
        )
    }
}
