/// A function as a client deploys it: the OpenFaaS `FunctionDeployment` plus Swiftlet's additions
/// (`runtime`, `code`). Field names are OpenFaaS' own; absent fields are omitted when encoded.
public struct FunctionDeployment: Codable, Sendable, Equatable {
    /// The function's name (a DNS-1123 label).
    public var service: String
    /// The OCI image of an image function.
    public var image: String?
    /// The namespace; Swiftlet serves `openfaas-fn`.
    public var namespace: String?
    /// The process the watchdog forks (`fprocess`).
    public var envProcess: String?
    /// Environment variables for the function's process.
    public var envVars: [String: String]?
    /// Placement constraints (stored, not interpreted on one machine).
    public var constraints: [String]?
    /// Names of secrets to mount.
    public var secrets: [String]?
    /// Labels, including OpenFaaS scaling labels.
    public var labels: [String: String]?
    /// Annotations.
    public var annotations: [String: String]?
    /// Resource limits (`memory` like `128Mi`, `cpu` like `500m`).
    public var limits: FunctionResources?
    /// Resource requests.
    public var requests: FunctionResources?
    /// Whether the root filesystem is read-only. Code functions always run read-only.
    public var readOnlyRootFilesystem: Bool?
    /// Swiftlet: the language runtime of a code function (`python3`, `node`).
    public var runtime: String?
    /// Swiftlet: the code, base64: one handler file or a `.tar.gz` bundle.
    public var code: String?
    /// Swiftlet: debug mode (also the label `com.swiftlet.debug=true`): one instance, a 1 h exec
    /// timeout, no health-check replacement, and the runtime's debugger forwarded to the host.
    public var debug: Bool?
    /// Swiftlet: the isolation tier, `standard` or `hardened` (also the label
    /// `com.swiftlet.isolation`); unset is the platform's default.
    public var isolation: String?
    /// OpenFaaS: credentials for pulling a private image, base64 of `user:password`. Used for the
    /// pull at deploy and never stored.
    public var registryAuth: String?

    /// Creates a deployment.
    public init(
        service: String, image: String? = nil, namespace: String? = nil, envProcess: String? = nil,
        envVars: [String: String]? = nil, constraints: [String]? = nil, secrets: [String]? = nil,
        labels: [String: String]? = nil, annotations: [String: String]? = nil,
        limits: FunctionResources? = nil, requests: FunctionResources? = nil,
        readOnlyRootFilesystem: Bool? = nil, runtime: String? = nil, code: String? = nil, debug: Bool? = nil,
        isolation: String? = nil, registryAuth: String? = nil
    ) {
        self.service = service
        self.image = image
        self.namespace = namespace
        self.envProcess = envProcess
        self.envVars = envVars
        self.constraints = constraints
        self.secrets = secrets
        self.labels = labels
        self.annotations = annotations
        self.limits = limits
        self.requests = requests
        self.readOnlyRootFilesystem = readOnlyRootFilesystem
        self.runtime = runtime
        self.code = code
        self.debug = debug
        self.isolation = isolation
        self.registryAuth = registryAuth
    }
}

/// Memory and CPU as OpenFaaS writes them: `{"memory":"128Mi","cpu":"500m"}`.
public struct FunctionResources: Codable, Sendable, Equatable {
    /// Memory like `128Mi`, `1G` or a byte count.
    public var memory: String?
    /// CPU like `100m`, `0.5` or `2`.
    public var cpu: String?

    /// Creates resources.
    public init(memory: String? = nil, cpu: String? = nil) {
        self.memory = memory
        self.cpu = cpu
    }
}
