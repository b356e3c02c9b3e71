import Foundation

// The parts of the Docker Engine API's JSON that Swiftlet reads. Field names are the engine's.

/// `GET /info`: the engine's version and registered OCI runtimes.
public struct DockerInfo: Decodable, Sendable {
    /// One registered runtime.
    public struct Runtime: Decodable, Sendable {
        /// The binary.
        public var path: String?
        /// Extra arguments the engine passes to it.
        public var runtimeArgs: [String]?
    }
    /// The engine version (`20.10.24`).
    public var ServerVersion: String?
    /// Runtimes by name (`runc`, `runsc`).
    public var Runtimes: [String: Runtime]?
}

/// `GET /images/{name}/json`.
public struct DockerImage: Decodable, Sendable {
    /// The image's run configuration.
    public struct Config: Decodable, Sendable {
        /// `USER`.
        public var User: String?
        /// `ENV` as `KEY=value`.
        public var Env: [String]?
        /// `ENTRYPOINT`.
        public var Entrypoint: [String]?
        /// `CMD`.
        public var Cmd: [String]?
        /// `WORKDIR`.
        public var WorkingDir: String?
        /// `EXPOSE` (`8080/tcp`).
        public var ExposedPorts: [String: IgnoredValue]?
    }
    /// The image id.
    public var Id: String
    /// Its configuration (absent for some imported images).
    public var Config: Config?
}

/// A JSON value Swiftlet does not read.
public struct IgnoredValue: Decodable, Sendable {
    public init(from decoder: any Decoder) throws {}
}

/// `GET /containers/{id}/json`.
public struct DockerContainer: Decodable, Sendable {
    /// The process state.
    public struct State: Decodable, Sendable {
        /// `running`, `exited`, `created`…
        public var Status: String?
        /// Whether it runs.
        public var Running: Bool?
        /// Its init process on the host (0 when not running).
        public var Pid: Int32?
        /// The exit code once exited.
        public var ExitCode: Int?
        /// Set when the process was killed for lack of memory.
        public var OOMKilled: Bool?
    }
    /// The labels and image.
    public struct Config: Decodable, Sendable {
        /// Labels given at create.
        public var Labels: [String: String]?
        /// The image reference.
        public var Image: String?
        /// The user.
        public var User: String?
    }
    /// The host-side settings Swiftlet checks.
    public struct HostConfig: Decodable, Sendable {
        /// The OCI runtime (`runc`, `runsc`).
        public var Runtime: String?
        /// `none` or a network name.
        public var NetworkMode: String?
    }
    /// The id.
    public var Id: String
    /// `/name`.
    public var Name: String?
    /// The state.
    public var State: State?
    /// The config.
    public var Config: Config?
    /// The host config.
    public var HostConfig: HostConfig?
}

/// One row of `GET /containers/json`.
public struct DockerContainerSummary: Decodable, Sendable {
    /// The id.
    public var Id: String
    /// `/name` entries.
    public var Names: [String]?
    /// `running`, `exited`…
    public var State: String?
    /// Labels.
    public var Labels: [String: String]?
}

/// One row of `GET /networks`.
public struct DockerNetwork: Decodable, Sendable {
    /// The id.
    public var Id: String
    /// The name.
    public var Name: String
    /// Labels.
    public var Labels: [String: String]?
}

/// `GET /containers/{id}/stats?stream=false`, the parts read.
struct DockerStats: Decodable {
    struct Memory: Decodable { var usage: Int64? }
    struct CPU: Decodable {
        struct Usage: Decodable { var total_usage: Int64? }
        var cpu_usage: Usage?
    }
    var memory_stats: Memory?
    var cpu_stats: CPU?
}

/// The `X-Registry-Auth` credentials of a pull.
public struct DockerRegistryAuth: Sendable, Equatable {
    /// The user name.
    public var username: String
    /// The password or token.
    public var password: String
    /// The registry host (`registry.example.com:5000`).
    public var serverAddress: String

    /// Creates credentials.
    public init(username: String, password: String, serverAddress: String) {
        self.username = username
        self.password = password
        self.serverAddress = serverAddress
    }

    /// The header value: base64url of the JSON the engine expects.
    public var headerValue: String {
        let json = (try? JSONSerialization.data(
            withJSONObject: ["username": username, "password": password, "serveraddress": serverAddress], options: [.sortedKeys]
        )) ?? Data()
        return json.base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
    }
}
