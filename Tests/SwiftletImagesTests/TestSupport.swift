import Foundation
import Logging
import SwiftletCore
@testable import SwiftletImages
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// A fresh directory under the system temp dir, removed when `body` returns or throws. Removal
/// never follows symlinks (rootfs trees hold links to `/etc` and the like).
func withTemporaryDirectory<T>(_ body: (String) async throws -> T) async throws -> T {
    let path = FileManager.default.temporaryDirectory.path + "/swiftlet-images-test-" + UUID().uuidString
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    defer { try? RootDirectory.removeTree(atPath: path) }
    return try await body(path)
}

/// A store in `directory`, logging nowhere.
func makeStore(_ directory: String, limits: LayerUnpacker.Limits = LayerUnpacker.Limits()) -> ImageStore {
    ImageStore(layout: ImageLayout(dataDirectory: directory + "/data"), logger: testLogger, limits: limits)
}

let testLogger = Logger(label: "swiftlet.images.test") { _ in SwiftLogNoOpLogHandler() }

/// Writes `bytes` to `path`.
func write(_ bytes: [UInt8], to path: String) throws {
    try Data(bytes).write(to: URL(fileURLWithPath: path))
}

/// The names in `path`, hidden ones included, sorted; empty if it does not exist.
func names(in path: String) -> [String] {
    ((try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []).sorted()
}

/// What a store holds on disk: its blob names, rootfs names and index bytes.
struct StoreSnapshot: Equatable {
    var blobs: [String]
    var rootfs: [String]
    var index: Data?

    init(_ layout: ImageLayout) {
        blobs = names(in: layout.blobs)
        rootfs = names(in: layout.rootfs)
        index = FileManager.default.contents(atPath: layout.root + "/index.json")
    }
}

/// The `SwiftletError` `body` throws (recording an issue if it throws nothing or something else).
func swiftletError(sourceLocation: SourceLocation = #_sourceLocation, _ body: () async throws -> Void) async -> SwiftletError? {
    do {
        try await body()
        Issue.record("expected an error", sourceLocation: sourceLocation)
    } catch let error as SwiftletError {
        return error
    } catch {
        Issue.record("expected a SwiftletError, got \(error)", sourceLocation: sourceLocation)
    }
    return nil
}

/// `lstat` of `path`.
func fileStatus(_ path: String) -> stat? {
    var info = stat()
    return lstat(path, &info) == 0 ? info : nil
}

/// The target text of the symlink at `path`.
func linkTarget(_ path: String) -> String? {
    try? FileManager.default.destinationOfSymbolicLink(atPath: path)
}

/// The contents of the file at `path` as text.
func text(_ path: String) -> String? {
    FileManager.default.contents(atPath: path).map { String(decoding: $0, as: UTF8.self) }
}
