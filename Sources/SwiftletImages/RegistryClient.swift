import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import SwiftletCore

/// Pulls images from an OCI distribution (Docker v2) registry into the image store's blob directory.
///
/// A pull resolves the reference to a `linux/amd64` image manifest (choosing from an index or
/// manifest list), then downloads the config and the layers. Every blob goes to
/// `layout.partial(hex)` first and is renamed to `layout.blob(hex)` only once its size and sha256
/// match; blobs already in the store are skipped, and an interrupted download resumes with a
/// `Range` request.
///
/// ```swift
/// let client = RegistryClient(configuration: .init(insecure: true), logger: logger)
/// let result = try await client.pull(reference: "127.0.0.1:5000/hello:1.0", into: layout) { progress in
///     print(progress.digest, progress.completed, progress.total)
/// }
/// ```
public struct RegistryClient: Sendable {
    /// How a client talks to registries.
    public struct Configuration: Sendable {
        /// Use plain `http://` instead of `https://`. Never turned on automatically, not even for `localhost`.
        public var insecure: Bool
        /// Credentials for Basic auth or for the token server; nil pulls anonymously.
        public var credentials: RegistryCredentials?
        /// The platform chosen from an index or manifest list.
        public var platform: RegistryPlatform
        /// The largest layer a pull accepts, in bytes.
        public var maxLayerSize: Int64
        /// The largest image config a pull accepts, in bytes.
        public var maxConfigSize: Int64
        /// The time limit for opening a connection (only for the `HTTPClient` the client creates).
        public var connectTimeout: Duration
        /// The time limit for a manifest or token request, body included.
        public var requestTimeout: Duration
        /// The time limit for downloading one blob.
        public var blobTimeout: Duration
        /// The longest silence while reading a response (only for the `HTTPClient` the client creates).
        public var readTimeout: Duration
        /// The least time between two `.downloading` progress reports for one layer.
        public var progressInterval: Duration

        /// Creates a configuration; the defaults pull over HTTPS, anonymously, for `linux/amd64`.
        public init(
            insecure: Bool = false,
            credentials: RegistryCredentials? = nil,
            platform: RegistryPlatform = .linuxAmd64,
            maxLayerSize: Int64 = 8 << 30,
            maxConfigSize: Int64 = 16 << 20,
            connectTimeout: Duration = .seconds(10),
            requestTimeout: Duration = .seconds(60),
            blobTimeout: Duration = .seconds(3600),
            readTimeout: Duration = .seconds(60),
            progressInterval: Duration = .milliseconds(200)
        ) {
            self.insecure = insecure
            self.credentials = credentials
            self.platform = platform
            self.maxLayerSize = maxLayerSize
            self.maxConfigSize = maxConfigSize
            self.connectTimeout = connectTimeout
            self.requestTimeout = requestTimeout
            self.blobTimeout = blobTimeout
            self.readTimeout = readTimeout
            self.progressInterval = progressInterval
        }
    }

    /// The largest manifest or index a pull accepts: 4 MiB.
    public static let maxManifestSize = 4 << 20

    /// How this client talks to registries.
    public let configuration: Configuration
    private let httpClient: HTTPClient?
    private let logger: Logger

    /// Creates a client. Without `httpClient` each pull creates its own on
    /// `HTTPClient.defaultEventLoopGroup` and shuts it down when done; a client passed in is
    /// left running and should follow redirects without decompressing.
    public init(configuration: Configuration = .init(), httpClient: HTTPClient? = nil, logger: Logger) {
        self.configuration = configuration
        self.httpClient = httpClient
        self.logger = logger
    }

    /// Pulls `reference` (`host[:port]/repository[:tag|@sha256:…]`) into the blob store of `layout`.
    ///
    /// `progress` is called for each layer: `.present` for a layer already stored, `.downloading`
    /// at most once per `progressInterval` while bytes arrive, and `.verified` when it is stored.
    /// Throws a `SwiftletError` that says what to do.
    public func pull(
        reference: String, into layout: ImageLayout, progress: (RegistryProgress) -> Void = { _ in }
    ) async throws -> RegistryPullResult {
        try await pull(reference: RegistryReference(parsing: reference), into: layout, progress: progress)
    }

    /// Pulls a parsed reference into the blob store of `layout`, as the `String` overload does.
    public func pull(
        reference: RegistryReference, into layout: ImageLayout, progress: (RegistryProgress) -> Void = { _ in }
    ) async throws -> RegistryPullResult {
        var logger = logger
        logger[metadataKey: "swiftlet.image"] = "\(reference)"
        let http = httpClient ?? HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: ownClientConfiguration)
        let session = RegistrySession(http: http, reference: reference, configuration: configuration, logger: logger)
        let result: Result<RegistryPullResult, any Error>
        do {
            result = .success(try await pull(session: session, layout: layout, progress: progress))
        } catch {
            result = .failure(error)
        }
        if httpClient == nil { try? await http.shutdown() }
        return try result.get()
    }

    private var ownClientConfiguration: HTTPClient.Configuration {
        var http = HTTPClient.Configuration()
        http.redirectConfiguration = .follow(max: 5, allowCycles: false)
        http.decompression = .disabled
        http.timeout = .init(
            connect: .nanoseconds(configuration.connectTimeout.inNanoseconds),
            read: .nanoseconds(configuration.readTimeout.inNanoseconds))
        return http
    }

    private func pull(
        session: RegistrySession, layout: ImageLayout, progress: (RegistryProgress) -> Void
    ) async throws -> RegistryPullResult {
        let reference = session.reference
        try RegistryBlobFile.createDirectory(layout.blobs)
        let downloader = RegistryBlobDownloader(session: session, layout: layout)
        let resolved = try await downloader.resolveManifest()
        let manifest = resolved.manifest
        for layer in manifest.layers {
            guard RegistryMediaType.supportedLayers.contains(layer.mediaType) else {
                let what =
                    layer.mediaType == RegistryMediaType.ociLayerZstd ? "a zstd-compressed layer" : "a layer of type '\(layer.mediaType)'"
                throw SwiftletError(
                    .unsupported,
                    "image \(reference) has \(what) (\(layer.digest)); "
                        + "Swiftlet supports gzip and uncompressed layers: rebuild the image with gzip compression"
                )
            }
            guard layer.size <= configuration.maxLayerSize else {
                throw SwiftletError(
                    .tooLarge,
                    "layer \(layer.digest) of image \(reference) is \(layer.size) bytes, over the limit of \(configuration.maxLayerSize); "
                        + "raise the layer size limit"
                )
            }
        }
        guard manifest.config.size <= configuration.maxConfigSize else {
            throw SwiftletError(
                .tooLarge,
                "the config of image \(reference) is \(manifest.config.size) bytes, over the limit of \(configuration.maxConfigSize)")
        }
        try await downloader.fetch(manifest.config, what: "config") { _ in }
        let configHex = try RegistryDigest.hex(manifest.config.digest, in: "the config of image \(reference)")
        let config = try RegistryBlobFile.read(layout.blob(configHex))
        for layer in manifest.layers {
            try await downloader.fetch(layer, what: "layer", progress: progress)
        }
        logger.info("pulled image", metadata: ["digest": "\(resolved.digest)", "layers": "\(manifest.layers.count)"])
        return RegistryPullResult(
            reference: reference.description,
            manifestDigest: resolved.digest,
            indexDigest: resolved.indexDigest,
            manifest: resolved.bytes,
            config: config,
            layers: manifest.layers
        )
    }
}
