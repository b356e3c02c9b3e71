import Hummingbird
import NIOCore

/// The request context of Swiftlet's routes: the core context plus the client's address and
/// an upload limit sized for deployments.
public struct SwiftletRequestContext: RequestContext, RemoteAddressRequestContext {
    /// Core context storage.
    public var coreContext: CoreRequestContextStorage
    /// The client's address.
    public let remoteAddress: SocketAddress?
    /// The client's connection (streaming routes watch it to stop when the client goes).
    public let channel: any Channel
    /// The largest body JSON routes decode (deployments carry base64 code).
    public var maxUploadSize: Int { 16 * 1024 * 1024 }

    /// Creates the context for a request on `source.channel`.
    public init(source: ApplicationRequestContextSource) {
        self.coreContext = .init(source: source)
        self.remoteAddress = source.channel.remoteAddress
        self.channel = source.channel
    }
}
