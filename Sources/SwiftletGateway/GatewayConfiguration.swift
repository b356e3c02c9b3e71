/// Settings of the gateway, read once at start-up.
public struct GatewayConfiguration: Sendable {
    /// The address to listen on.
    public var bindAddress: String
    /// The port to listen on (0 picks a free one).
    public var port: Int
    /// Basic-auth credentials for `/system/*`, or nil when auth is off.
    public var credentials: BasicCredentials?
    /// The largest body of a function call.
    public var maxBodyBytes: Int
    /// The largest deployment request (JSON with base64 code).
    public var maxDeployBytes: Int
    /// The version Swiftlet reports in `/system/info`.
    public var version: String
    /// Where uploads (image archives) are staged.
    public var uploadDirectory: String
    /// The largest image archive `POST /system/images/import` accepts.
    public var maxImageArchiveBytes: Int
    /// Rates, connections and request-arrival deadlines (``GatewayLimits``).
    public var limits: GatewayLimits = GatewayLimits()
    /// Browser origins allowed cross-origin (`https://app.example.com`, or `*`); empty: CORS off.
    public var corsOrigins: [String] = []

    /// Creates a configuration.
    public init(
        bindAddress: String = "127.0.0.1", port: Int = 8080, credentials: BasicCredentials? = nil,
        maxBodyBytes: Int = 32 * 1024 * 1024, maxDeployBytes: Int = 16 * 1024 * 1024, version: String = SwiftletVersion.current,
        uploadDirectory: String = "/tmp", maxImageArchiveBytes: Int = 4 * 1024 * 1024 * 1024
    ) {
        self.uploadDirectory = uploadDirectory
        self.maxImageArchiveBytes = maxImageArchiveBytes
        self.bindAddress = bindAddress
        self.port = port
        self.credentials = credentials
        self.maxBodyBytes = maxBodyBytes
        self.maxDeployBytes = maxDeployBytes
        self.version = version
    }
}

/// A user name and password for basic auth.
public struct BasicCredentials: Sendable, Equatable {
    /// The user name.
    public var user: String
    /// The password.
    public var password: String

    /// Creates credentials.
    public init(user: String, password: String) {
        self.user = user
        self.password = password
    }
}

/// Swiftlet's version.
public enum SwiftletVersion {
    /// The release this build reports.
    public static let current = "0.1.0"
}
