/// How to run an image: the parts of its config an instance needs.
public struct ImageConfig: Sendable, Codable, Equatable {
    /// `Entrypoint`.
    public var entrypoint: [String]
    /// `Cmd`.
    public var cmd: [String]
    /// `Env`, as `KEY=value`.
    public var env: [String]
    /// `WorkingDir`, if set.
    public var workingDir: String?
    /// `User` (`name`, `uid`, `uid:gid`), if set.
    public var user: String?
    /// `ExposedPorts`, like `8080/tcp`, sorted.
    public var exposedPorts: [String]

    /// Creates a run config.
    public init(
        entrypoint: [String] = [], cmd: [String] = [], env: [String] = [], workingDir: String? = nil, user: String? = nil,
        exposedPorts: [String] = []
    ) {
        self.entrypoint = entrypoint
        self.cmd = cmd
        self.env = env
        self.workingDir = workingDir
        self.user = user
        self.exposedPorts = exposedPorts
    }
}
