import AsyncHTTPClient
import Crypto
import Foundation
import NIOCore
import SwiftletCore

extension RegistryBlobDownloader {
    /// The single-platform manifest a pull resolved to.
    struct ResolvedManifest {
        var manifest: RegistryManifest
        var bytes: Data
        var digest: String
        var indexDigest: String?
    }

    /// Fetches the manifest of the reference; for an index or manifest list, the configured platform's manifest.
    func resolveManifest() async throws -> ResolvedManifest {
        let top = try await fetchManifest(reference.manifestReference, expectedDigest: reference.digest, expectedSize: nil)
        guard RegistryMediaType.isIndex(top.mediaType) else {
            return ResolvedManifest(manifest: try decode(RegistryManifest.self, top), bytes: top.bytes, digest: top.digest)
        }
        let index = try decode(RegistryIndex.self, top)
        let wanted = configuration.platform
        let entry = index.manifests.first { entry in
            RegistryMediaType.isManifest(entry.mediaType) && entry.platform.map { wanted.accepts($0) } == true
        }
        guard let entry else {
            var available: [String] = []
            for platform in index.manifests.compactMap(\.platform) where platform.os != "unknown" {
                if !available.contains(platform.description) { available.append(platform.description) }
            }
            let list = available.isEmpty ? "none is labelled with a platform" : "it has " + available.joined(separator: ", ")
            throw SwiftletError(.unsupported, "image \(reference) has no \(wanted) variant (\(list)); use an image built for \(wanted)")
        }
        guard entry.size <= RegistryClient.maxManifestSize else { throw manifestTooLarge(entry.size) }
        let child = try await fetchManifest(entry.digest, expectedDigest: entry.digest, expectedSize: entry.size)
        guard RegistryMediaType.isManifest(child.mediaType) else {
            throw SwiftletError(.unsupported, "the \(wanted) entry of image \(reference) is a '\(child.mediaType)', not an image manifest")
        }
        return ResolvedManifest(
            manifest: try decode(RegistryManifest.self, child), bytes: child.bytes, digest: child.digest, indexDigest: top.digest
        )
    }

    private struct FetchedManifest {
        var bytes: Data
        var mediaType: String
        var digest: String
    }

    /// GETs `/manifests/<tagOrDigest>` (or reads it from the store when pinned by a digest we have),
    /// checks its size and digest, and stores it as a blob.
    private func fetchManifest(_ tagOrDigest: String, expectedDigest: String?, expectedSize: Int64?) async throws -> FetchedManifest {
        let limit = RegistryClient.maxManifestSize
        if let expectedDigest, let hex = try? RegistryDigest.hex(expectedDigest, in: ""),
            let bytes = try? RegistryBlobFile.read(layout.blob(hex)), bytes.count <= limit, Self.digest(of: bytes) == expectedDigest
        {
            return FetchedManifest(bytes: bytes, mediaType: try mediaType(of: bytes, contentType: nil), digest: expectedDigest)
        }
        let response = try await session.get(
            "manifests/" + tagOrDigest, headers: ["Accept": RegistryMediaType.manifestAccept], timeout: configuration.requestTimeout
        )
        guard response.status == .ok else {
            let detail = await Self.registryMessage(response)
            if response.status == .notFound {
                let image = reference.repository + (tagOrDigest.hasPrefix("sha256:") ? "@" : ":") + tagOrDigest
                throw SwiftletError(
                    .notFound,
                    "image \(image) not found in registry \(reference.host)\(detail); check the repository name and the tag or digest"
                )
            }
            throw SwiftletError(
                .badGateway,
                "registry \(reference.host) answered \(response.status.code) for the manifest of \(reference)\(detail); try again later"
            )
        }
        if let length = response.headers.first(name: "Content-Length").flatMap({ Int64($0) }), length > limit {
            throw manifestTooLarge(length)
        }
        let bytes: Data
        do {
            bytes = Data(try await response.body.collect(upTo: limit).readableBytesView)
        } catch is NIOTooManyBytesError {
            throw manifestTooLarge(nil)
        } catch {
            throw session.transportError(error, url: "manifests/" + tagOrDigest, timeout: configuration.requestTimeout)
        }
        let digest = Self.digest(of: bytes)
        let claimed = response.headers.first(name: "Docker-Content-Digest").flatMap { RegistryDigest.isValid($0) ? $0 : nil }
        for expected in [expectedDigest, claimed].compactMap({ $0 }) where expected != digest {
            throw SwiftletError(
                .badGateway,
                "digest mismatch for the manifest of image \(reference): expected \(expected), got \(digest); "
                    + "the registry or a proxy altered it, pull again"
            )
        }
        if let expectedSize, expectedSize != Int64(bytes.count) {
            throw SwiftletError(
                .badGateway,
                "the manifest \(digest) of image \(reference) is \(bytes.count) bytes but its index says \(expectedSize); "
                    + "the image is broken"
            )
        }
        let mediaType = try mediaType(of: bytes, contentType: response.headers.first(name: "Content-Type"))
        let hex = String(digest.dropFirst(7))
        if !RegistryBlobFile.exists(layout.blob(hex)) {
            try RegistryBlobFile.store(bytes, partial: layout.partial(hex), blob: layout.blob(hex))
        }
        return FetchedManifest(bytes: bytes, mediaType: mediaType, digest: digest)
    }

    /// The manifest's media type: the `Content-Type`, else the `mediaType` field, else guessed from the fields.
    private func mediaType(of bytes: Data, contentType: String?) throws -> String {
        let header = contentType.map { String($0.prefix { $0 != ";" }).trimmingCharacters(in: .whitespaces) } ?? ""
        if RegistryMediaType.isIndex(header) || RegistryMediaType.isManifest(header) { return header }
        struct Probe: Decodable {
            var schemaVersion: Int?
            var mediaType: String?
            var manifests: [RegistryDescriptor]?
            var layers: [RegistryDescriptor]?
        }
        guard let probe = try? JSONDecoder().decode(Probe.self, from: bytes) else { throw malformed("manifest") }
        if let type = probe.mediaType, RegistryMediaType.isIndex(type) || RegistryMediaType.isManifest(type) { return type }
        if probe.schemaVersion == 1 || header.contains("manifest.v1") {
            throw SwiftletError(
                .unsupported,
                "image \(reference) has a Docker schema 1 manifest, which Swiftlet does not support; "
                    + "push it again with a current Docker, buildah or skopeo"
            )
        }
        if probe.manifests != nil { return RegistryMediaType.ociIndex }
        if probe.layers != nil { return RegistryMediaType.ociManifest }
        throw SwiftletError(.unsupported, "image \(reference) has a manifest of type '\(probe.mediaType ?? header)', which is not an image")
    }

    private func decode<T: Decodable>(_ type: T.Type, _ fetched: FetchedManifest) throws -> T {
        do {
            return try JSONDecoder().decode(type, from: fetched.bytes)
        } catch {
            throw malformed(RegistryMediaType.isIndex(fetched.mediaType) ? "index" : "manifest", cause: error)
        }
    }

    private func malformed(_ what: String, cause: (any Error)? = nil) -> SwiftletError {
        SwiftletError(
            .badGateway, "registry \(reference.host) sent a malformed \(what) for image \(reference); the image is broken", cause: cause)
    }

    private func manifestTooLarge(_ size: Int64?) -> SwiftletError {
        let size = size.map { " (\($0) bytes)" } ?? ""
        return SwiftletError(
            .tooLarge,
            "a manifest of image \(reference) is larger than the 4 MiB limit\(size); this is not a container image Swiftlet can run"
        )
    }

    static func digest(of bytes: Data) -> String {
        "sha256:" + hex(SHA256.hash(data: bytes))
    }

    /// `: CODE message` from a registry's error body (`{"errors":[{"code":…,"message":…}]}`), or "".
    static func registryMessage(_ response: HTTPClientResponse) async -> String {
        struct Body: Decodable {
            struct Entry: Decodable {
                var code: String?
                var message: String?
            }
            var errors: [Entry]
        }
        guard let buffer = try? await response.body.collect(upTo: 64 * 1024),
            let body = try? JSONDecoder().decode(Body.self, from: Data(buffer.readableBytesView)),
            let first = body.errors.first
        else { return "" }
        return " (the registry said: " + [first.code, first.message].compactMap { $0 }.joined(separator: " ") + ")"
    }
}
