import CompressNIO
import Crypto
import Foundation
import NIOCore

@testable import SwiftletImages

/// A small image made in the test: a config, gzip layers of crafted tar bytes, and its OCI manifest.
struct RegistryTestImage {
    var config: Data
    /// The layer blobs as pushed (gzip unless a test says otherwise).
    var layers: [Data]
    var layerDescriptors: [RegistryDescriptor]
    var manifest: Data

    var manifestDigest: String { RegistryTestImage.digest(manifest) }
    var configDigest: String { RegistryTestImage.digest(config) }

    /// Two gzip layers: a small text file, and `randomBytes` of incompressible data (so its gzip is about that size).
    static func make(architecture: String = "amd64", randomBytes: Int = 256 * 1024, layerMediaType: String = RegistryMediaType.ociLayerGzip)
        throws -> RegistryTestImage
    {
        let tars = [
            tar([("hello.txt", Array("hello from \(architecture)\n".utf8))]),
            tar([("data.bin", pseudoRandom(count: randomBytes, seed: UInt64(architecture.utf8.reduce(0) { $0 &* 31 &+ Int($1) })))]),
        ]
        let layers = try tars.map { try gzip($0) }
        let diffIDs = tars.map { digest(Data($0)) }
        let config = Data(
            """
            {"architecture":"\(architecture)","os":"linux","config":{"Cmd":["/hello"]},\
            "rootfs":{"type":"layers","diff_ids":["\(diffIDs.joined(separator: "\",\""))"]}}
            """.utf8
        )
        let descriptors = layers.map { RegistryDescriptor(mediaType: layerMediaType, digest: digest($0), size: Int64($0.count)) }
        let manifest = RegistryManifest(
            config: RegistryDescriptor(
                mediaType: "application/vnd.oci.image.config.v1+json", digest: digest(config), size: Int64(config.count)),
            layers: descriptors
        )
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return RegistryTestImage(config: config, layers: layers, layerDescriptors: descriptors, manifest: try encoder.encode(manifest))
    }

    /// An OCI index over `images`, one entry per (image, platform).
    static func index(_ entries: [(RegistryTestImage, RegistryPlatform)]) throws -> Data {
        let index = RegistryIndex(
            manifests: entries.map { image, platform in
                RegistryDescriptor(
                    mediaType: RegistryMediaType.ociManifest, digest: image.manifestDigest, size: Int64(image.manifest.count),
                    platform: platform
                )
            }
        )
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return try encoder.encode(index)
    }

    static func digest(_ data: Data) -> String {
        "sha256:" + SHA256.hash(data: data).map { String(format: "%02x", $0) }.joined()
    }

    static func hex(_ digest: String) -> String { String(digest.dropFirst(7)) }

    /// A ustar archive of regular files.
    static func tar(_ files: [(String, [UInt8])]) -> [UInt8] {
        var bytes: [UInt8] = []
        for (name, contents) in files {
            var header = [UInt8](repeating: 0, count: 512)
            func put(_ text: String, at offset: Int) { header.replaceSubrange(offset..<offset + text.utf8.count, with: Array(text.utf8)) }
            func octal(_ value: Int, at offset: Int, length: Int) {
                let digits = String(value, radix: 8)
                put(String(repeating: "0", count: length - 1 - digits.count) + digits, at: offset)
            }
            put(name, at: 0)
            octal(0o644, at: 100, length: 8)
            octal(0, at: 108, length: 8)
            octal(0, at: 116, length: 8)
            octal(contents.count, at: 124, length: 12)
            octal(1_700_000_000, at: 136, length: 12)
            header[156] = UInt8(ascii: "0")
            put("ustar", at: 257)
            put("00", at: 263)
            header.replaceSubrange(148..<156, with: [UInt8](repeating: 0x20, count: 8))
            let sum = header.reduce(0) { $0 + Int($1) }
            octal(sum, at: 148, length: 7)
            header[154] = 0
            bytes += header + contents + [UInt8](repeating: 0, count: (512 - contents.count % 512) % 512)
        }
        return bytes + [UInt8](repeating: 0, count: 1024)
    }

    static func pseudoRandom(count: Int, seed: UInt64) -> [UInt8] {
        var state = seed | 1
        return (0..<count).map { _ in
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return UInt8(truncatingIfNeeded: state >> 33)
        }
    }

    static func gzip(_ bytes: [UInt8]) throws -> Data {
        var buffer = ByteBuffer()
        buffer.writeBytes(bytes)
        let compressed = try buffer.compress(with: .gzip())
        return Data(compressed.readableBytesView)
    }
}

/// Pushes blobs and manifests with the registry's push API over plain HTTP.
struct RegistryPusher {
    let host: String
    var authorization: String?

    private var headers: [String: String] { authorization.map { ["Authorization": $0] } ?? [:] }

    /// `POST /v2/<repo>/blobs/uploads/`, then a monolithic `PUT <location>&digest=…`.
    @discardableResult
    func pushBlob(_ repository: String, _ data: Data) async throws -> String {
        let digest = RegistryTestImage.digest(data)
        let start = try await RegistryHTTP.send("POST", "http://\(host)/v2/\(repository)/blobs/uploads/", headers: headers)
        guard start.status == 202, var location = start.header("Location") else {
            throw RegistryFixtureError("upload start answered \(start.status): \(String(decoding: start.body, as: UTF8.self))")
        }
        if location.hasPrefix("/") { location = "http://\(host)" + location }
        var putHeaders = headers
        putHeaders["Content-Type"] = "application/octet-stream"
        let put = try await RegistryHTTP.send(
            "PUT", location + (location.contains("?") ? "&" : "?") + "digest=" + digest, headers: putHeaders, body: data
        )
        guard put.status == 201 else {
            throw RegistryFixtureError("blob upload answered \(put.status): \(String(decoding: put.body, as: UTF8.self))")
        }
        return digest
    }

    /// `PUT /v2/<repo>/manifests/<reference>`.
    func pushManifest(_ repository: String, reference: String, _ data: Data, mediaType: String) async throws {
        var putHeaders = headers
        putHeaders["Content-Type"] = mediaType
        let put = try await RegistryHTTP.send(
            "PUT", "http://\(host)/v2/\(repository)/manifests/\(reference)", headers: putHeaders, body: data)
        guard put.status == 201 else {
            throw RegistryFixtureError("manifest upload answered \(put.status): \(String(decoding: put.body, as: UTF8.self))")
        }
    }

    /// Pushes the config, the layers and the manifest (under `tag`, else under its digest).
    func push(_ image: RegistryTestImage, to repository: String, tag: String?) async throws {
        try await pushBlob(repository, image.config)
        for layer in image.layers { try await pushBlob(repository, layer) }
        try await pushManifest(repository, reference: tag ?? image.manifestDigest, image.manifest, mediaType: RegistryMediaType.ociManifest)
    }
}
