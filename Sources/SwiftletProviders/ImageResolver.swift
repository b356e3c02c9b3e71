import SwiftletCore
import SwiftletImages

/// An image ready to run: its unpacked, read-only rootfs and its config.
public struct ImageRootfs: Sendable, Equatable {
    /// The normalized reference.
    public var reference: String
    /// The unpacked rootfs directory (read-only, shared by every instance of the image).
    public var rootfs: String
    /// The parts of the image's config an instance needs.
    public var config: ImageConfig

    /// Creates an image description.
    public init(reference: String, rootfs: String, config: ImageConfig) {
        self.reference = reference
        self.rootfs = rootfs
        self.config = config
    }
}

/// Turns an image reference into an unpacked rootfs (the image store, pulling when needed).
public protocol ImageResolver: Sendable {
    /// Checks that `reference` is a well-formed image reference, without fetching anything, and
    /// returns its normalized form (`busybox` → `docker.io/library/busybox:latest`).
    func normalizeReference(_ reference: String) throws -> String
    /// The unpacked image for `reference`; throws `.notFound` when it is not in the store and
    /// cannot be pulled.
    func resolveImage(_ reference: String) async throws -> ImageRootfs
}

/// One image in the store, as the API lists it.
public struct ImageSummary: Codable, Sendable, Equatable {
    /// The normalized reference.
    public var reference: String
    /// The manifest digest (`sha256:…`).
    public var digest: String
    /// The total size of its blobs, in bytes.
    public var size: Int64

    /// Creates a summary.
    public init(reference: String, digest: String, size: Int64) {
        self.reference = reference
        self.digest = digest
        self.size = size
    }
}

/// Registry credentials for a pull.
public struct RegistryLogin: Sendable {
    /// The user name.
    public var username: String
    /// The password or token.
    public var password: String

    /// Creates credentials.
    public init(username: String, password: String) {
        self.username = username
        self.password = password
    }
}

/// The image store as the API and CLI manage it.
public protocol ImageCatalog: ImageResolver {
    /// Every image, by reference.
    func listImages() async throws -> [ImageSummary]
    /// Imports a `docker save` or OCI-layout tarball; `tag` overrides the name it carries.
    func importImage(archive path: String, tag: String?) async throws -> [ImageSummary]
    /// Pulls `reference` from its registry, reporting progress lines as they come.
    func pullImage(
        _ reference: String, insecure: Bool, login: RegistryLogin?, progress: @escaping @Sendable (String) -> Void
    ) async throws -> ImageSummary
    /// Removes a reference (its blobs go at the next garbage collection).
    func removeImage(_ reference: String) async throws
    /// Removes blobs and rootfs dirs no reference uses; returns what was (or would be) removed.
    func collectGarbage(dryRun: Bool) async throws -> [String]
}
