import CSwiftletLinux
import Foundation
import NIOCore
import NIOPosix
import SwiftletCore

/// Opens TCP connections to `127.0.0.1:PORT` inside an instance's network namespace.
///
/// The instance's namespace holds only `lo`; there is no IP route from the host to it. A thread
/// of a small dedicated pool enters the namespace (`setns`), creates the socket there, and goes
/// back; the socket stays bound to the instance's namespace and is handed to NIO.
public final class NetnsDialer: Sendable {
    private let threadPool: NIOThreadPool
    private let homeFD: CInt

    /// Creates a dialer with its own threads; call ``shutdown()`` when done.
    public init(threads: Int = 8) throws {
        let fd = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            throw SwiftletError(.internal, "cannot open /proc/self/ns/net (errno \(errno)); swiftlet needs Linux network namespaces and must run as root")
        }
        homeFD = fd
        threadPool = NIOThreadPool(numberOfThreads: threads)
        threadPool.start()
    }

    /// Stops the dialer's threads.
    public func shutdown() async {
        try? await threadPool.shutdownGracefully()
        close(homeFD)
    }

    /// A connected, non-blocking socket to `127.0.0.1:port` in the namespace `namespaceFD`; a
    /// handshake that takes over 3 s (a full listen backlog) fails with `ETIMEDOUT`.
    public func connect(namespaceFD: CInt, port: UInt16) async throws -> CInt {
        let home = homeFD
        let result = try await threadPool.runIfActive {
            cswiftlet_connect_loopback_in_netns(namespaceFD, home, port, 3000)
        }
        guard result >= 0 else { throw DialError(errno: -result) }
        return result
    }

    /// Sets `lo` up in the namespace `namespaceFD`.
    public func loopbackUp(namespaceFD: CInt) async throws {
        let home = homeFD
        let result = try await threadPool.runIfActive {
            cswiftlet_loopback_up_in_netns(namespaceFD, home)
        }
        guard result == 0 else {
            throw SwiftletError(.internal, "cannot bring up loopback in the instance's network namespace: \(String(cString: strerror(-result)))")
        }
    }

    /// Creates a network namespace that holds only `lo` (up), kept alive by a bind mount at
    /// `path` (created here; unmount it to let the namespace go). Used where the runtime joins a
    /// namespace instead of creating one (gVisor's runsc in host-network mode).
    public func createNamespace(at path: String) async throws {
        guard FileManager.default.createFile(atPath: path, contents: nil, attributes: [.posixPermissions: 0o400]) else {
            throw SwiftletError(.internal, "cannot create the network namespace file \(path)")
        }
        let home = homeFD
        let result = try await threadPool.runIfActive {
            path.withCString { cswiftlet_netns_create($0, home) }
        }
        guard result == 0 else {
            try? FileManager.default.removeItem(atPath: path)
            throw SwiftletError(.internal, "cannot create a network namespace at \(path): \(String(cString: strerror(-result)))")
        }
    }

    /// A failed dial, with the errno (`ECONNREFUSED` while the runner does not listen yet).
    public struct DialError: Error, CustomStringConvertible {
        /// The errno of the failed call.
        public let errno: CInt
        /// Whether nothing listens (yet) on the port.
        public var isRefused: Bool { errno == ECONNREFUSED }
        public var description: String { "connect failed: \(String(cString: strerror(errno)))" }
    }
}
