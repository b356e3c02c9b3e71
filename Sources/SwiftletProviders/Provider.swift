import Foundation
import SwiftletCore

/// Runs function instances. The gateway and scheduler speak only to this protocol; the native
/// provider (runc sandboxes) is the real implementation, others (Docker) come later.
public protocol Provider: Sendable {
    /// What runs the instances, as `/system/info` names it (`native`, `docker`).
    var orchestration: String { get }
    /// Prepares the host and removes whatever a previous run of this provider left behind.
    func start() async throws
    /// Checks that `code` can run as `spec` (bundle layout, handler file, image reference) without
    /// starting anything, and returns the spec as it should be stored (image references normalized).
    func validate(_ spec: FunctionSpec, code: Data) throws -> FunctionSpec
    /// Builds what `spec` needs before it is stored (for python3 bundles: the dependencies of
    /// `requirements.txt`); a failure is the deployment's error and nothing changes.
    func prepare(_ spec: FunctionSpec, code: Data) async throws
    /// ``prepare(_:code:)`` with the deployment's pull credentials (image functions).
    func prepare(_ spec: FunctionSpec, code: Data, registryAuth: DeploymentValidator.RegistryAuth?) async throws
    /// Starts one instance of `spec`; it is ready when ``FunctionInstance/waitUntilReady(timeout:)`` returns.
    func startInstance(of spec: FunctionSpec) async throws -> any FunctionInstance
    /// Removes what the provider kept for a function that was just removed (its network).
    func functionRemoved(_ spec: FunctionSpec) async
    /// Nil when the provider can start instances now, else why not (`/healthz` answers 503 with it).
    func health() async -> SwiftletError?
    /// Removes everything the provider still runs.
    func shutdown() async
}

extension Provider {
    /// Nothing to prepare by default.
    public func prepare(_ spec: FunctionSpec, code: Data) async throws {}

    /// Credentials are not used by default.
    public func prepare(_ spec: FunctionSpec, code: Data, registryAuth: DeploymentValidator.RegistryAuth?) async throws {
        try await prepare(spec, code: code)
    }

    /// Nothing is kept per function by default.
    public func functionRemoved(_ spec: FunctionSpec) async {}

    /// The native provider's name by default.
    public var orchestration: String { "native" }

    /// Always healthy by default.
    public func health() async -> SwiftletError? { nil }
}

/// One running instance of a function.
public protocol FunctionInstance: AnyObject, Sendable {
    /// A unique id, like `hello-3f9a1c2e`.
    var id: String { get }
    /// Whether the instance's process has exited.
    var hasExited: Bool { get }
    /// Waits until the instance answers `GET /_/health` with 200; throws if it exits or times out.
    func waitUntilReady(timeout: Duration) async throws
    /// Whether the instance answers its health check within `timeout` (false once it exited).
    func checkHealth(timeout: Duration) async -> Bool
    /// Sends a request; throws ``ProxyError`` when the instance fails or times out.
    func send(_ request: ProxyRequest, timeout: Duration) async throws -> ProxyResponse
    /// Waits until the instance's process exits.
    func waitForExit() async
    /// Stops the instance and removes everything it used.
    func stop() async
    /// The memory and CPU the instance has used, or nil when unknown (read when metrics are scraped).
    func resourceUsage() -> InstanceUsage?
    /// In debug mode, where each debugger of the instance is forwarded on the host, by debugger
    /// name (`node-inspector: 127.0.0.1:40123`); empty otherwise.
    var debugEndpoints: [String: String] { get }
}


extension FunctionInstance {
    /// Unknown by default.
    public func resourceUsage() -> InstanceUsage? { nil }

    /// No debugger by default.
    public var debugEndpoints: [String: String] { [:] }
}
