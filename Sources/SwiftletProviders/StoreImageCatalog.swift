import Foundation
import Logging
import SwiftletCore
import SwiftletImages

/// The image store and registry client behind the ``ImageCatalog`` the API and the native
/// provider use. Images missing from the store are pulled when an instance first needs them.
public final class StoreImageCatalog: ImageCatalog {
    /// Settings of the catalog.
    public struct Configuration: Sendable {
        /// Registries (`host[:port]`) reached over plain HTTP when pulling on deploy.
        public var insecureRegistries: Set<String>

        /// Creates a configuration.
        public init(insecureRegistries: Set<String> = []) {
            self.insecureRegistries = insecureRegistries
        }
    }

    /// The store.
    public let store: ImageStore
    private let configuration: Configuration
    private let logger: Logger

    /// Creates the catalog of the images under `dataDirectory`.
    public init(dataDirectory: String, configuration: Configuration = Configuration(), logger: Logger) {
        self.store = ImageStore(layout: ImageLayout(dataDirectory: dataDirectory), logger: logger)
        self.configuration = configuration
        self.logger = logger
    }

    public func normalizeReference(_ reference: String) throws -> String {
        try ImageReference(parsing: reference).description
    }

    public func resolveImage(_ reference: String) async throws -> ImageRootfs {
        let resolved = try await resolveOrPull(reference)
        return ImageRootfs(reference: resolved.reference, rootfs: resolved.rootfs, config: resolved.config)
    }

    private func resolveOrPull(_ reference: String) async throws -> ResolvedImage {
        let outcome: Result<ResolvedImage, any Error> = await {
            do { return .success(try await store.resolve(reference)) } catch { return .failure(error) }
        }()
        switch outcome {
        case .success(let resolved):
            return resolved
        case .failure(let error):
            guard (error as? SwiftletError)?.code == .notFound else { throw error }
        }
        let parsed = try ImageReference(parsing: reference)
        logger.info("image not in the store; pulling it", metadata: ["swiftlet.image": "\(parsed)"])
        let insecure = configuration.insecureRegistries.contains(parsed.registry)
        let pulled: Result<ImageSummary, any Error> = await {
            do { return .success(try await pullImage(parsed.description, insecure: insecure, login: nil, progress: { _ in })) } catch { return .failure(error) }
        }()
        if case .failure(let pullError) = pulled {
            let reason = (pullError as? SwiftletError)?.message ?? "\(pullError)"
            throw SwiftletError(
                .notFound,
                "image \(parsed) is not in the store and could not be pulled (\(reason)); import it with `swiftlet image import` or pull it with `swiftlet image pull`"
            )
        }
        return try await store.resolve(parsed.description)
    }

    public func listImages() async throws -> [ImageSummary] {
        try await store.list().map { ImageSummary(reference: $0.reference, digest: $0.manifestDigest, size: $0.size) }
    }

    public func importImage(archive path: String, tag: String?) async throws -> [ImageSummary] {
        try await store.importArchive(path: path, tag: tag).map { ImageSummary(reference: $0.reference, digest: $0.manifestDigest, size: $0.size) }
    }

    public func pullImage(
        _ reference: String, insecure: Bool, login: RegistryLogin?, progress: @escaping @Sendable (String) -> Void
    ) async throws -> ImageSummary {
        let parsed = try ImageReference(parsing: reference)
        let client = RegistryClient(
            configuration: .init(insecure: insecure, credentials: login.map { RegistryCredentials(username: $0.username, password: $0.password) }),
            logger: logger
        )
        let result = try await client.pull(reference: parsed.description, into: store.layout) { event in
            let total = event.total > 0 ? ByteCountFormatter.string(fromByteCount: event.total, countStyle: .binary) : "?"
            let done = ByteCountFormatter.string(fromByteCount: event.completed, countStyle: .binary)
            progress("\(event.digest.prefix(19)) \(event.status.rawValue) \(done) / \(total)")
        }
        try await store.register(reference: parsed, manifestDigest: try Digest(result.manifestDigest))
        let stored = try await store.list().first { $0.reference == parsed.description }
        return ImageSummary(reference: parsed.description, digest: result.manifestDigest, size: stored?.size ?? 0)
    }

    public func removeImage(_ reference: String) async throws {
        try await store.remove(reference)
    }

    public func collectGarbage(dryRun: Bool) async throws -> [String] {
        let collected = try await store.garbageCollect(dryRun: dryRun)
        return collected.blobs.map(\.description) + collected.rootfs
    }
}
