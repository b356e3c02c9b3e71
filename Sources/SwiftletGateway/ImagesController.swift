import Foundation
import Hummingbird
import NIOCore
import SwiftletCore
import SwiftletProviders
import SwiftletStore

/// The image store over the API (`/system/images…`, basic auth like every `/system` route).
struct ImagesController: Sendable {
    let images: any ImageCatalog
    let store: any FunctionStore
    let uploadDirectory: String
    let maxArchiveBytes: Int

    func addRoutes(to router: Router<SwiftletRequestContext>) {
        router.get("/system/images", use: list)
        router.post("/system/images/import", use: importArchive)
        router.post("/system/images/pull", use: pull)
        router.delete("/system/images", use: remove)
        router.post("/system/images/gc", use: collectGarbage)
    }

    struct PullRequest: Codable {
        var reference: String
        var insecure: Bool?
        var username: String?
        var password: String?
    }

    struct RemoveRequest: Codable {
        var reference: String
    }

    @Sendable func list(_ request: Request, context: SwiftletRequestContext) async throws -> Response {
        try JSONResponse.make(try await images.listImages())
    }

    /// `POST /system/images/import[?tag=REF]` with the archive as the body (streamed to disk).
    @Sendable func importArchive(_ request: Request, context: SwiftletRequestContext) async throws -> Response {
        let tag = request.uri.queryParameters.get("tag").flatMap { $0.isEmpty ? nil : $0 }
        if let length = request.headers[.contentLength].flatMap(Int.init), length > maxArchiveBytes {
            throw SwiftletError(.tooLarge, "the image archive is \(length) bytes; the limit is \(maxArchiveBytes) bytes")
        }
        try FileManager.default.createDirectory(atPath: uploadDirectory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        let path = uploadDirectory + "/import-\(UUID().uuidString).tar"
        defer { try? FileManager.default.removeItem(atPath: path) }
        guard FileManager.default.createFile(atPath: path, contents: nil, attributes: [.posixPermissions: 0o600]),
            let handle = FileHandle(forWritingAtPath: path)
        else {
            throw SwiftletError(.internal, "cannot write the upload to \(uploadDirectory); check free disk space")
        }
        var total = 0
        do {
            defer { try? handle.close() }
            for try await chunk in request.body {
                total += chunk.readableBytes
                guard total <= maxArchiveBytes else {
                    throw SwiftletError(.tooLarge, "the image archive is larger than \(maxArchiveBytes) bytes")
                }
                try handle.write(contentsOf: chunk.readableBytesView)
            }
        }
        guard total > 0 else {
            throw SwiftletError(.invalidInput, "the request body is empty; send a `docker save` or OCI-layout tarball")
        }
        let imported = try await images.importImage(archive: path, tag: tag)
        context.logger.info("imported image", metadata: ["swiftlet.image": "\(imported.map(\.reference))"])
        return try JSONResponse.make(imported, status: .created)
    }

    /// `POST /system/images/pull`: streams NDJSON progress lines, then `{"reference","digest"}`
    /// or `{"error"}` as the last line.
    @Sendable func pull(_ request: Request, context: SwiftletRequestContext) async throws -> Response {
        let body = try await JSONBody.decode(PullRequest.self, from: request, context: context)
        let reference = try images.normalizeReference(body.reference)
        let login = body.username.map { RegistryLogin(username: $0, password: body.password ?? "") }
        let images = self.images
        let logger = context.logger
        return Response(
            status: .ok, headers: [.contentType: "application/x-ndjson"],
            body: ResponseBody { writer in
                let (lines, continuation) = AsyncStream.makeStream(of: String.self)
                async let outcome: String = {
                    defer { continuation.finish() }
                    do {
                        let summary = try await images.pullImage(reference, insecure: body.insecure ?? false, login: login) { line in
                            continuation.yield(line)
                        }
                        logger.info("pulled image", metadata: ["swiftlet.image": "\(summary.reference)"])
                        return Self.line(["reference": summary.reference, "digest": summary.digest])
                    } catch let error as SwiftletError {
                        return Self.line(["error": error.message])
                    } catch {
                        return Self.line(["error": "\(error)"])
                    }
                }()
                for await line in lines {
                    try await writer.write(ByteBuffer(string: Self.line(["progress": line])))
                }
                try await writer.write(ByteBuffer(string: await outcome))
                try await writer.finish(nil)
            }
        )
    }

    /// `DELETE /system/images` with `{"reference"}`; 409 while a function uses it.
    @Sendable func remove(_ request: Request, context: SwiftletRequestContext) async throws -> Response {
        let body = try await JSONBody.decode(RemoveRequest.self, from: request, context: context)
        let reference = try images.normalizeReference(body.reference)
        let users = try await store.allFunctions().filter { $0.image == reference }.map(\.name)
        guard users.isEmpty else {
            throw SwiftletError(.conflict, "image \(reference) is used by \(users.joined(separator: ", ")); remove or update those functions first")
        }
        try await images.removeImage(reference)
        return Response(status: .ok)
    }

    /// `POST /system/images/gc[?dryRun=true]`: the blobs and rootfs dirs removed.
    @Sendable func collectGarbage(_ request: Request, context: SwiftletRequestContext) async throws -> Response {
        let dryRun = request.uri.queryParameters.get("dryRun") == "true"
        return try JSONResponse.make(try await images.collectGarbage(dryRun: dryRun))
    }

    static func line(_ object: [String: String]) -> String {
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data("{}".utf8)
        return String(decoding: data, as: UTF8.self) + "\n"
    }
}
