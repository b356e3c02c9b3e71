import AsyncHTTPClient
import Crypto
import Foundation
import NIOCore
import NIOHTTP1
import SwiftletCore

/// Downloads the blobs of one pull into the store: `.partial` first, verified, then renamed.
struct RegistryBlobDownloader {
    let session: RegistrySession
    let layout: ImageLayout

    var configuration: RegistryClient.Configuration { session.configuration }
    var reference: RegistryReference { session.reference }

    /// The bytes an earlier pull left in `.partial` turned out wrong: start the blob again.
    private struct StalePartial: Error {}

    /// Makes sure the blob of `descriptor` is in the store, downloading (or resuming) it if not.
    func fetch(_ descriptor: RegistryDescriptor, what: String, progress: (RegistryProgress) -> Void) async throws {
        let hex = try RegistryDigest.hex(descriptor.digest, in: "a \(what) of image \(reference)")
        guard descriptor.size >= 0 else {
            throw SwiftletError(.badGateway, "the manifest of image \(reference) gives \(what) \(descriptor.digest) a negative size")
        }
        if RegistryBlobFile.exists(layout.blob(hex)) {
            progress(RegistryProgress(digest: descriptor.digest, completed: descriptor.size, total: descriptor.size, status: .present))
            return
        }
        do {
            try await download(descriptor, hex: hex, what: what, resume: true, progress: progress)
        } catch is StalePartial {
            session.logger.warning("the partial download was wrong; downloading it again", metadata: ["digest": "\(descriptor.digest)"])
            try await download(descriptor, hex: hex, what: what, resume: false, progress: progress)
        }
    }

    private func download(
        _ descriptor: RegistryDescriptor, hex: String, what: String, resume: Bool, progress: (RegistryProgress) -> Void
    ) async throws {
        let partialPath = layout.partial(hex)
        if !resume { RegistryBlobFile.remove(partialPath) }
        let file = try RegistryBlobFile(path: partialPath)
        let total = descriptor.size
        var offset = try file.size()
        if offset > total {
            try file.truncate()
            offset = 0
        }
        var resumedFrom = offset
        var hasher = SHA256()
        if offset > 0 { try file.hashPrefix(offset, into: &hasher) }
        func report(_ status: RegistryProgress.Status) {
            progress(RegistryProgress(digest: descriptor.digest, completed: offset, total: total, status: status))
        }
        if offset < total {
            var headers: HTTPHeaders = [:]
            if offset > 0 { headers.add(name: "Range", value: "bytes=\(offset)-") }
            let response = try await session.get("blobs/" + descriptor.digest, headers: headers, timeout: configuration.blobTimeout)
            switch response.status {
            case .partialContent where offset > 0:
                guard Self.rangeStart(response.headers.first(name: "Content-Range")) == offset else { throw StalePartial() }
                session.logger.debug("resuming blob", metadata: ["digest": "\(descriptor.digest)", "offset": "\(offset)"])
            case .ok:
                if offset > 0 {
                    try file.truncate()
                    hasher = SHA256()
                    offset = 0
                    resumedFrom = 0
                }
            case .rangeNotSatisfiable where offset > 0:
                throw StalePartial()
            case .notFound:
                throw SwiftletError(
                    .notFound,
                    "the \(what) \(descriptor.digest) of image \(reference) is missing from registry \(reference.host); "
                        + "push the image again"
                )
            default:
                throw SwiftletError(
                    .badGateway,
                    "registry \(reference.host) answered \(response.status.code) for the \(what) \(descriptor.digest) "
                        + "of image \(reference); try again later"
                )
            }
            report(.downloading)
            let clock = ContinuousClock()
            var lastReport = clock.now
            do {
                for try await chunk in response.body {
                    guard offset + Int64(chunk.readableBytes) <= total else {
                        RegistryBlobFile.remove(partialPath)
                        throw SwiftletError(
                            .badGateway,
                            "registry \(reference.host) sent more than the \(total) bytes the manifest gives the \(what) "
                                + "\(descriptor.digest) of image \(reference); the image or the registry is broken"
                        )
                    }
                    chunk.withUnsafeReadableBytes { hasher.update(bufferPointer: $0) }
                    try file.append(chunk)
                    offset += Int64(chunk.readableBytes)
                    if clock.now - lastReport >= configuration.progressInterval {
                        lastReport = clock.now
                        report(.downloading)
                    }
                }
            } catch {
                throw session.transportError(error, url: "blobs/" + descriptor.digest, timeout: configuration.blobTimeout)
            }
        }
        guard offset == total else {
            throw SwiftletError(
                .unavailable,
                "registry \(reference.host) ended the \(what) \(descriptor.digest) of image \(reference) "
                    + "after \(offset) of \(total) bytes; pull again to resume"
            )
        }
        let actual = "sha256:" + Self.hex(hasher.finalize())
        guard actual == descriptor.digest else {
            RegistryBlobFile.remove(partialPath)
            if resumedFrom > 0 { throw StalePartial() }
            throw SwiftletError(
                .badGateway,
                "digest mismatch for the \(what) of image \(reference): expected \(descriptor.digest), got \(actual); "
                    + "the registry or a proxy altered it, pull again"
            )
        }
        try file.sync()
        try RegistryBlobFile.move(partialPath, to: layout.blob(hex))
        report(.verified)
    }

    /// The first byte offset of a `Content-Range: bytes N-M/T` header.
    static func rangeStart(_ contentRange: String?) -> Int64? {
        guard let value = contentRange, value.hasPrefix("bytes ") else { return nil }
        return Int64(value.dropFirst(6).prefix { $0 != "-" })
    }

    /// Lowercase hex of a digest.
    static func hex<D: Sequence>(_ digest: D) -> String where D.Element == UInt8 {
        let digits = Array("0123456789abcdef".utf8)
        var text: [UInt8] = []
        for byte in digest {
            text.append(digits[Int(byte >> 4)])
            text.append(digits[Int(byte & 0x0f)])
        }
        return String(decoding: text, as: UTF8.self)
    }
}
