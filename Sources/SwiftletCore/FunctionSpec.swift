import Foundation

/// A validated, stored function: what the scheduler and providers work from. A code function
/// has a `runtime` and code (`codeDigest`); an image function has an `image` instead.
public struct FunctionSpec: Codable, Sendable, Equatable {
    /// The function's name.
    public var name: String
    /// Its namespace.
    public var namespace: String
    /// The language runtime of a code function (nil for an image function).
    public var runtime: Runtime?
    /// The OCI image reference of an image function (nil for a code function).
    public var image: String?
    /// The sha256 (hex) of the code as deployed (empty for an image function).
    public var codeDigest: String
    /// Whether the root filesystem is read-only; nil means the default (code functions: always
    /// read-only; image functions: writable, as in OpenFaaS).
    public var readOnlyRootFilesystem: Bool?
    /// Environment variables for the function's process.
    public var envVars: [String: String]
    /// Labels as given (without `faas_function`).
    public var labels: [String: String]
    /// Annotations.
    public var annotations: [String: String]
    /// The names of the secrets mounted at `/var/openfaas/secrets/<name>` in every instance.
    public var secrets: [String]
    /// Constraints (stored).
    public var constraints: [String]
    /// `fprocess` (stored).
    public var envProcess: String?
    /// Limits as given.
    public var limits: FunctionResources?
    /// Requests as given.
    public var requests: FunctionResources?
    /// When the function was first deployed.
    public var createdAt: Date
    /// When it was last deployed or updated.
    public var updatedAt: Date
    /// Debug mode (``DebugMode``): true, or nil when off (specs stored before debug mode have none).
    public var debug: Bool?
    /// The isolation tier chosen at deploy, or nil for the platform's default.
    public var isolation: IsolationTier?

    /// Creates a spec.
    public init(
        name: String, namespace: String = FunctionName.defaultNamespace, runtime: Runtime?, image: String? = nil,
        codeDigest: String, readOnlyRootFilesystem: Bool? = nil,
        envVars: [String: String] = [:], labels: [String: String] = [:], annotations: [String: String] = [:],
        secrets: [String] = [], constraints: [String] = [], envProcess: String? = nil,
        limits: FunctionResources? = nil, requests: FunctionResources? = nil,
        createdAt: Date = Date(), updatedAt: Date = Date(), debug: Bool? = nil,
        isolation: IsolationTier? = nil
    ) {
        self.name = name
        self.namespace = namespace
        self.runtime = runtime
        self.image = image
        self.codeDigest = codeDigest
        self.readOnlyRootFilesystem = readOnlyRootFilesystem
        self.envVars = envVars
        self.labels = labels
        self.annotations = annotations
        self.secrets = secrets
        self.constraints = constraints
        self.envProcess = envProcess
        self.limits = limits
        self.requests = requests
        self.createdAt = createdAt
        self.updatedAt = updatedAt
        self.debug = debug
        self.isolation = isolation
    }

    /// Whether this is an image function.
    public var isImageFunction: Bool { runtime == nil }

    /// Whether instances get a read-only root filesystem.
    public var rootFilesystemIsReadOnly: Bool { runtime != nil || (readOnlyRootFilesystem ?? false) }

    /// The default exec timeout when `exec_timeout` is not set.
    public static let defaultExecTimeout: Duration = .seconds(60)

    /// The memory limit in bytes (`limits.memory`), or nil for the platform default.
    public var memoryLimitBytes: Int64? { limits?.memory.flatMap { try? ResourceQuantity.memoryBytes($0) } }
    /// The CPU limit (`limits.cpu`), or nil for no limit.
    public var cpuLimit: Double? { limits?.cpu.flatMap { try? ResourceQuantity.cpus($0) } }
    /// The memory request in bytes (`requests.memory`), or nil.
    public var memoryRequestBytes: Int64? { requests?.memory.flatMap { try? ResourceQuantity.memoryBytes($0) } }
    /// The CPU request (`requests.cpu`), or nil.
    public var cpuRequest: Double? { requests?.cpu.flatMap { try? ResourceQuantity.cpus($0) } }
    /// Whether the function runs in debug mode.
    public var isDebug: Bool { debug ?? false }

    /// The exec timeout from the `exec_timeout` environment variable, default 60 s; in debug mode
    /// always ``DebugMode/execTimeout`` (1 h), so a call paused in a debugger does not time out.
    public var execTimeout: Duration {
        if isDebug { return DebugMode.execTimeout }
        return envVars["exec_timeout"].flatMap { try? ResourceQuantity.duration($0) }.flatMap { $0 > .zero ? $0 : nil }
            ?? Self.defaultExecTimeout
    }

    /// The status the API reports for this function.
    public func status(invocationCount: Double, replicas: Int, availableReplicas: Int) -> FunctionStatus {
        var allLabels = labels
        allLabels["faas_function"] = name
        return FunctionStatus(
            name: name, image: image ?? "swiftlet/\(runtime?.rawValue ?? "unknown")", namespace: namespace, envProcess: envProcess,
            envVars: envVars.isEmpty ? nil : envVars, constraints: constraints.isEmpty ? nil : constraints,
            secrets: secrets.isEmpty ? nil : secrets, labels: allLabels, annotations: annotations.isEmpty ? nil : annotations,
            limits: limits, requests: requests, readOnlyRootFilesystem: rootFilesystemIsReadOnly, invocationCount: invocationCount,
            replicas: replicas, availableReplicas: availableReplicas, createdAt: RFC3339.format(createdAt),
            runtime: runtime?.rawValue, codeDigest: codeDigest.isEmpty ? nil : codeDigest, debug: isDebug ? true : nil
        )
    }
}

/// RFC 3339 timestamps as the OpenFaaS API writes them.
public enum RFC3339 {
    /// Formats a date in UTC with seconds precision, like `2026-11-24T08:00:00Z`.
    public static func format(_ date: Date) -> String {
        date.formatted(.iso8601)
    }

    /// Formats a date in UTC with milliseconds, like `2026-11-24T08:00:00.123Z`.
    public static func formatPrecise(_ date: Date) -> String {
        Date.ISO8601FormatStyle(includingFractionalSeconds: true).format(date)
    }
}
