import CompressNIO
import Foundation
import NIOCore
import SwiftletCore

/// Turns deployed code (one handler file, or a gzip'd tar bundle) into a read-only directory.
///
/// Bundles are checked entry by entry: paths that are absolute or climb out with `..`, links that
/// point out of the bundle, hard links, devices and FIFOs are refused; setuid/setgid bits are
/// dropped; sizes and entry counts are bounded. The directory appears atomically (staged, then
/// renamed), so a refused bundle leaves nothing behind.
public struct CodeBundle: Sendable {
    /// Bounds on an unpacked bundle.
    public struct Limits: Sendable {
        /// The most bytes all files may hold once unpacked.
        public var maxUnpackedBytes: Int
        /// The most entries.
        public var maxEntries: Int

        /// Creates limits.
        public init(maxUnpackedBytes: Int = 64 * 1024 * 1024, maxEntries: Int = 10_000) {
            self.maxUnpackedBytes = maxUnpackedBytes
            self.maxEntries = maxEntries
        }
    }

    /// The limits applied.
    public var limits: Limits

    /// Creates a bundle unpacker.
    public init(limits: Limits = Limits()) {
        self.limits = limits
    }

    /// Whether `code` is gzip data (a bundle) rather than a single handler file.
    public static func isGzip(_ code: Data) -> Bool {
        code.count >= 2 && code[code.startIndex] == 0x1F && code[code.startIndex + 1] == 0x8B
    }

    /// Checks `code` without writing anything: a refused bundle throws the same error `unpack` would.
    public func validate(_ code: Data, runtime: Runtime) throws(SwiftletError) {
        _ = try entries(of: code, runtime: runtime)
    }

    /// The contents of the regular file at `path` (relative to the bundle root) in `code`, if any.
    public func file(_ path: String, in code: Data, runtime: Runtime) throws(SwiftletError) -> Data? {
        try entries(of: code, runtime: runtime).first { $0.path == path && $0.kind == .file }.map { Data($0.contents) }
    }

    /// Unpacks `code` for `runtime` into `directory` (which must not exist yet). When `directory`
    /// already exists (the same digest unpacked before) nothing is done.
    public func unpack(_ code: Data, runtime: Runtime, into directory: String) throws(SwiftletError) {
        let fm = FileManager.default
        if fm.fileExists(atPath: directory) { return }
        let planned = try entries(of: code, runtime: runtime)
        let staging = directory + ".staging-\(UInt32.random(in: 0...UInt32.max))"
        do {
            try fm.createDirectory(atPath: staging, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o755])
            for entry in planned {
                let path = staging + "/" + entry.path
                switch entry.kind {
                case .directory:
                    try fm.createDirectory(atPath: path, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o755])
                case .file:
                    try fm.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o755])
                    guard fm.createFile(atPath: path, contents: Data(entry.contents), attributes: [.posixPermissions: entry.mode & 0o111 != 0 ? 0o755 : 0o644]) else {
                        throw SwiftletError(.internal, "cannot write \(path); check free disk space and permissions of the data directory")
                    }
                case .symlink:
                    try fm.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o755])
                    try fm.createSymbolicLink(atPath: path, withDestinationPath: entry.linkTarget)
                default:
                    break
                }
            }
            try fm.moveItem(atPath: staging, toPath: directory)
        } catch {
            try? fm.removeItem(atPath: staging)
            if fm.fileExists(atPath: directory) { return }  // a concurrent unpack of the same digest won
            if let error = error as? SwiftletError { throw error }
            throw SwiftletError(.internal, "cannot unpack the code into \(directory); check free disk space and permissions", cause: error)
        }
    }

    private func entries(of code: Data, runtime: Runtime) throws(SwiftletError) -> [TarReader.Entry] {
        guard Self.isGzip(code) else {
            return [TarReader.Entry(path: runtime.handlerFile, kind: .file, mode: 0o644, linkTarget: "", contents: ArraySlice(code))]
        }
        var compressed = ByteBuffer(bytes: code)
        let tar: ByteBuffer
        do {
            tar = try compressed.decompress(with: .gzip(), maxSize: limits.maxUnpackedBytes + 1024 * 1024)
        } catch let error as CompressNIOError where error == .bufferOverflow {
            throw SwiftletError(.tooLarge, "the code bundle unpacks to more than \(limits.maxUnpackedBytes) bytes; make it smaller")
        } catch {
            throw SwiftletError(.invalidInput, "the code looks gzip-compressed but cannot be decompressed; send a .tar.gz bundle or a plain handler file")
        }
        guard tar.readableBytes >= 512 else {
            throw SwiftletError(.invalidInput, "the code looks gzip-compressed but cannot be decompressed into a tar archive; send a .tar.gz bundle or a plain handler file")
        }
        var reader = TarReader(bytes: Array(tar.readableBytesView))
        var result: [TarReader.Entry] = []
        var total = 0
        var tree = PathTree()
        while var entry = try reader.next() {
            guard result.count < limits.maxEntries else {
                throw SwiftletError(.tooLarge, "the code bundle has more than \(limits.maxEntries) entries")
            }
            let path = try Self.normalize(entry.path)
            if path.isEmpty { continue }  // "./"
            entry.path = path
            switch entry.kind {
            case .file:
                total += entry.contents.count
                guard total <= limits.maxUnpackedBytes else {
                    throw SwiftletError(.tooLarge, "the code bundle unpacks to more than \(limits.maxUnpackedBytes) bytes; make it smaller")
                }
            case .directory:
                break
            case .symlink:
                try Self.checkLink(entry.linkTarget, from: path)
            case .hardlink:
                throw SwiftletError(.invalidInput, "the code bundle holds a hard link ('\(path.prefix(100))'); replace it with a copy or a relative symlink")
            case .other:
                throw SwiftletError(.invalidInput, "the code bundle holds '\(path.prefix(100))', which is not a file, directory or symlink (devices and FIFOs are refused)")
            }
            // A later entry must not write through an earlier symlink, under a file, or over an earlier entry.
            try tree.insert(path, kind: entry.kind)
            result.append(entry)
        }
        for entry in result where entry.kind == .symlink && tree.climbsThroughSymlink(entry.linkTarget, from: entry.path) {
            throw SwiftletError(.invalidInput, "the code bundle holds a symlink '\(entry.path.prefix(100))' that climbs with '..' through another symlink ('\(entry.linkTarget.prefix(100))'); this is refused")
        }
        let handler = runtime.handlerFile
        guard result.contains(where: { $0.path == handler && $0.kind == .file }) else {
            throw SwiftletError(.invalidInput, "the code bundle has no \(handler) at its root; a \(runtime.rawValue) function needs \(handler) next to its other files")
        }
        return result
    }

    /// The paths of a bundle as a tree of components, so that checking every parent of a path costs
    /// one lookup per component (a hostile bundle may hold 10,000 paths thousands of levels deep).
    /// (Not `NSString.deletingLastPathComponent`: on Linux it traps on one-character paths.)
    struct PathTree {
        private struct Key: Hashable {
            var parent: Int
            var name: Substring
        }
        private var children: [Key: Int] = [:]
        /// The kind of each node; parents never given explicitly are directories. Node 0 is the root.
        private var kinds: [TarReader.Entry.Kind] = [.directory]

        /// Records `path` (normalized, not empty), refusing a path below a symlink or a file, and a
        /// path given twice (except a directory given again as a directory).
        mutating func insert(_ path: String, kind: TarReader.Entry.Kind) throws(SwiftletError) {
            let parts = path.split(separator: "/")
            var node = 0
            for (i, part) in parts.enumerated() {
                let key = Key(parent: node, name: part)
                let isLast = i == parts.count - 1
                guard let existing = children[key] else {
                    kinds.append(isLast ? kind : .directory)
                    node = kinds.count - 1
                    children[key] = node
                    continue
                }
                node = existing
                if isLast {
                    guard kinds[node] == .directory, kind == .directory else {
                        throw SwiftletError(.invalidInput, "the code bundle holds '\(path.prefix(100))' twice")
                    }
                } else if kinds[node] == .symlink {
                    let parent = parts[...i].joined(separator: "/")
                    throw SwiftletError(.invalidInput, "the code bundle writes '\(path.prefix(100))' through the symlink '\(parent.prefix(100))'; this is refused")
                } else if kinds[node] != .directory {
                    let parent = parts[...i].joined(separator: "/")
                    throw SwiftletError(.invalidInput, "the code bundle writes '\(path.prefix(100))' below the file '\(parent.prefix(100))'; this is refused")
                }
            }
        }

        /// Whether `target`, followed from the symlink at `path`, uses `..` after passing through another
        /// symlink. Each link is checked lexically, but the kernel resolves the inner link first and `..`
        /// then climbs from wherever it points: with `a/l -> ..`, `x -> a/l/..` leaves the bundle.
        func climbsThroughSymlink(_ target: String, from path: String) -> Bool {
            // The nodes from the root to the link's directory; nil below a path the bundle does not hold.
            var stack: [Int?] = [0]
            for part in path.split(separator: "/").dropLast() {
                stack.append(stack.last!.flatMap { children[Key(parent: $0, name: part)] })
            }
            var throughSymlink = false
            for part in target.split(separator: "/") where part != "." {
                if part == ".." {
                    guard !throughSymlink, stack.count > 1 else { return true }
                    stack.removeLast()
                    continue
                }
                let node = stack.last!.flatMap { children[Key(parent: $0, name: part)] }
                if let node, kinds[node] == .symlink { throughSymlink = true }
                stack.append(node)
            }
            return false
        }
    }

    /// A relative, clean path inside the bundle, or an error for absolute paths and `..`.
    static func normalize(_ raw: String) throws(SwiftletError) -> String {
        guard !raw.hasPrefix("/") else {
            throw SwiftletError(.invalidInput, "the code bundle holds an absolute path ('\(raw.prefix(100))'); pack it with relative paths (`tar -czf b.tar.gz -C DIR .`)")
        }
        guard !raw.utf8.contains(0) else {
            throw SwiftletError(.invalidInput, "the code bundle holds a path with a NUL byte")
        }
        var parts: [Substring] = []
        for part in raw.split(separator: "/", omittingEmptySubsequences: true) {
            if part == "." { continue }
            guard part != ".." else {
                throw SwiftletError(.invalidInput, "the code bundle holds a path that climbs out with '..' ('\(raw.prefix(100))'); this is refused")
            }
            parts.append(part)
        }
        return parts.joined(separator: "/")
    }

    /// Refuses a symlink at `path` whose target is absolute or resolves outside the bundle.
    static func checkLink(_ target: String, from path: String) throws(SwiftletError) {
        guard !target.isEmpty, !target.hasPrefix("/") else {
            throw SwiftletError(.invalidInput, "the code bundle holds a symlink '\(path.prefix(100))' to an absolute path ('\(target.prefix(100))'); only relative links inside the bundle are allowed")
        }
        // The kernel would cut the target at a NUL ("..\0/x" is ".."), past the check below.
        guard !target.utf8.contains(0) else {
            throw SwiftletError(.invalidInput, "the code bundle holds a symlink '\(path.prefix(100))' whose target contains a NUL byte; this is refused")
        }
        var depth = path.split(separator: "/").count - 1
        for part in target.split(separator: "/", omittingEmptySubsequences: true) {
            if part == "." { continue }
            depth += part == ".." ? -1 : 1
            guard depth >= 0 else {
                throw SwiftletError(.invalidInput, "the code bundle holds a symlink '\(path.prefix(100))' that points out of the bundle ('\(target.prefix(100))'); this is refused")
            }
        }
    }
}
