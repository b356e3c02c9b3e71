/// A function as the API reports it: OpenFaaS' `FunctionStatus`.
public struct FunctionStatus: Codable, Sendable, Equatable {
    /// The function's name.
    public var name: String
    /// The image (for code functions, `swiftlet/<runtime>`).
    public var image: String
    /// The namespace.
    public var namespace: String
    /// The process the watchdog forks.
    public var envProcess: String?
    /// Environment variables.
    public var envVars: [String: String]?
    /// Placement constraints.
    public var constraints: [String]?
    /// Secrets mounted.
    public var secrets: [String]?
    /// Labels; always include `faas_function: <name>`.
    public var labels: [String: String]
    /// Annotations.
    public var annotations: [String: String]?
    /// Limits.
    public var limits: FunctionResources?
    /// Requests.
    public var requests: FunctionResources?
    /// Whether the root filesystem is read-only.
    public var readOnlyRootFilesystem: Bool
    /// Calls served since the platform started.
    public var invocationCount: Double
    /// Desired instances.
    public var replicas: Int
    /// Instances ready to serve.
    public var availableReplicas: Int
    /// When the function was first deployed (RFC 3339).
    public var createdAt: String
    /// Swiftlet: the runtime of a code function.
    public var runtime: String?
    /// Swiftlet: the sha256 of the deployed code.
    public var codeDigest: String?
    /// Swiftlet: true in debug mode (absent otherwise); the forwarded debugger ports are the
    /// annotations `com.swiftlet.debug.<debugger>` (``DebugMode/annotationPrefix``).
    public var debug: Bool?

    /// Creates a status.
    public init(
        name: String, image: String, namespace: String, envProcess: String? = nil, envVars: [String: String]? = nil,
        constraints: [String]? = nil, secrets: [String]? = nil, labels: [String: String], annotations: [String: String]? = nil,
        limits: FunctionResources? = nil, requests: FunctionResources? = nil, readOnlyRootFilesystem: Bool,
        invocationCount: Double, replicas: Int, availableReplicas: Int, createdAt: String, runtime: String? = nil,
        codeDigest: String? = nil, debug: Bool? = nil
    ) {
        self.name = name
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
        self.invocationCount = invocationCount
        self.replicas = replicas
        self.availableReplicas = availableReplicas
        self.createdAt = createdAt
        self.runtime = runtime
        self.codeDigest = codeDigest
        self.debug = debug
    }
}

/// The body of `DELETE /system/functions`.
public struct DeleteFunctionRequest: Codable, Sendable {
    /// The function to delete.
    public var functionName: String
    /// Its namespace.
    public var namespace: String?

    /// Creates a request.
    public init(functionName: String, namespace: String? = nil) {
        self.functionName = functionName
        self.namespace = namespace
    }
}
