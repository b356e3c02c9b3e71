import SwiftletCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A directory tree changed only through descriptors, one path component at a time, with
/// `O_NOFOLLOW` and `AT_SYMLINK_NOFOLLOW`: no operation ever follows a symlink, so whatever links
/// the tree holds, nothing is created, written or deleted outside it.
final class RootDirectory {
    /// What a name in a directory is (never following a symlink).
    enum Kind { case directory, symlink, other }

    private let root: FileDescriptor
    /// Names the tree in errors ("layer 2 of 3 (sha256:…)").
    var context: String
    /// The last parent directory opened: archives list siblings together, so this saves most walks.
    private var cached: (path: String, fd: FileDescriptor)?

    /// Opens the directory at `path` (itself not a symlink).
    init(path: String, context: String) throws(SwiftletError) {
        let fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
        guard fd >= 0 else { throw Syscall.failure("cannot open \(path)") }
        root = FileDescriptor(raw: fd)
        self.context = context
    }

    /// The directory holding the last of `components`, walked from the root without following
    /// symlinks. Missing directories are created (mode 0755) when `create`, else nil is returned.
    /// A symlink or a non-directory on the way throws `.invalidInput`.
    func parent(of components: [Substring], create: Bool) throws(SwiftletError) -> FileDescriptor? {
        guard components.count > 1 else { return root }
        let parentPath = components.dropLast().joined(separator: "/")
        if let cached, cached.path == parentPath { return cached.fd }
        var current = root
        for (i, name) in components.dropLast().enumerated() {
            let component = String(name)
            var fd = openat(current.raw, component, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
            if fd < 0 && errno == ENOENT {
                guard create else { return nil }
                guard mkdirat(current.raw, component, 0o755) == 0 || errno == EEXIST else {
                    throw Syscall.failure("cannot create a directory while unpacking \(context)")
                }
                fd = openat(current.raw, component, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
                if fd >= 0 { fchmod(fd, 0o755) }
            }
            guard fd >= 0 else {
                let code = errno
                let prefix = components[...i].joined(separator: "/")
                let full = components.joined(separator: "/")
                switch kind(of: component, in: current) {
                case .symlink:
                    throw SwiftletError(
                        .invalidInput,
                        "\(context) writes '\(full.prefix(200))' through the symlink '\(prefix.prefix(200))'; writing through symlinks is refused"
                    )
                case .other:
                    throw SwiftletError(
                        .invalidInput,
                        "\(context) writes '\(full.prefix(200))' below the file '\(prefix.prefix(200))'; this is refused"
                    )
                default:
                    throw Syscall.failure("cannot open '\(prefix.prefix(200))' while unpacking \(context)", errno: code)
                }
            }
            current = FileDescriptor(raw: fd)
        }
        cached = (parentPath, current)
        return current
    }

    /// What `name` in `directory` is, or nil if it does not exist.
    func kind(of name: String, in directory: FileDescriptor) -> Kind? {
        var info = stat()
        guard fstatat(directory.raw, name, &info, AT_SYMLINK_NOFOLLOW) == 0 else { return nil }
        switch info.st_mode & S_IFMT {
        case S_IFDIR: return .directory
        case S_IFLNK: return .symlink
        default: return .other
        }
    }

    /// Opens the directory `name` in `directory` (not following a symlink).
    func openDirectory(_ name: String, in directory: FileDescriptor) throws(SwiftletError) -> FileDescriptor {
        let fd = openat(directory.raw, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
        guard fd >= 0 else { throw Syscall.failure("cannot open the directory '\(name.prefix(200))' while unpacking \(context)") }
        return FileDescriptor(raw: fd)
    }

    /// Creates the directory `name` in `directory`.
    func makeDirectory(_ name: String, in directory: FileDescriptor) throws(SwiftletError) {
        guard mkdirat(directory.raw, name, 0o700) == 0 else {
            throw Syscall.failure("cannot create the directory '\(name.prefix(200))' while unpacking \(context)")
        }
    }

    /// Creates the regular file `name` in `directory`, which must not exist, for writing.
    func createFile(_ name: String, in directory: FileDescriptor) throws(SwiftletError) -> FileDescriptor {
        let fd = openat(directory.raw, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw Syscall.failure("cannot create the file '\(name.prefix(200))' while unpacking \(context)") }
        return FileDescriptor(raw: fd)
    }

    /// Creates the symlink `name` in `directory` with the text `target` (any text: it is never followed here).
    func makeSymlink(_ name: String, to target: String, in directory: FileDescriptor) throws(SwiftletError) {
        guard symlinkat(target, directory.raw, name) == 0 else {
            throw Syscall.failure("cannot create the symlink '\(name.prefix(200))' while unpacking \(context)")
        }
    }

    /// Hard-links `name` in `directory` to `targetName` in `targetDirectory` (a symlink target is linked itself, not followed).
    func makeHardlink(
        _ name: String, in directory: FileDescriptor, to targetName: String, in targetDirectory: FileDescriptor
    ) throws(SwiftletError) {
        guard linkat(targetDirectory.raw, targetName, directory.raw, name, 0) == 0 else {
            throw Syscall.failure("cannot create the hard link '\(name.prefix(200))' while unpacking \(context)")
        }
    }

    /// Removes `name` from `directory`, a whole tree if it is a directory; nothing if it does not exist.
    func remove(_ name: String, in directory: FileDescriptor) throws(SwiftletError) {
        cached = nil
        try Self.removeTree(name, in: directory, what: context)
    }

    /// Removes every entry of `directory` for which `keep` is false.
    func clear(_ directory: FileDescriptor, keep: (String) -> Bool) throws(SwiftletError) {
        cached = nil
        for name in try Self.names(in: directory) where !keep(name) {
            try Self.removeTree(name, in: directory, what: context)
        }
    }

    /// The names in `directory`, without `.` and `..`.
    static func names(in directory: FileDescriptor) throws(SwiftletError) -> [String] {
        let copy = dup(directory.raw)
        guard copy >= 0, let stream = fdopendir(copy) else {
            if copy >= 0 { close(copy) }
            throw Syscall.failure("cannot list a directory")
        }
        defer { closedir(stream) }
        rewinddir(stream)
        var names: [String] = []
        while let entry = readdir(stream) {
            let name = withUnsafePointer(to: &entry.pointee.d_name) {
                String(cString: UnsafeRawPointer($0).assumingMemoryBound(to: CChar.self))
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names
    }

    /// Removes `name` from `directory` and, if it is a directory, everything below it, depth first
    /// without recursion (trees may be thousands of levels deep) and without following symlinks.
    static func removeTree(_ name: String, in directory: FileDescriptor, what: String) throws(SwiftletError) {
        var info = stat()
        guard fstatat(directory.raw, name, &info, AT_SYMLINK_NOFOLLOW) == 0 else {
            if errno == ENOENT { return }
            throw Syscall.failure("cannot remove '\(name.prefix(200))' (\(what))")
        }
        guard info.st_mode & S_IFMT == S_IFDIR else {
            guard unlinkat(directory.raw, name, 0) == 0 || errno == ENOENT else {
                throw Syscall.failure("cannot remove '\(name.prefix(200))' (\(what))")
            }
            return
        }
        // Each level: its path below `directory` and the names still to visit.
        var path: [String] = [name]
        var pending: [[String]] = [try names(in: walk(path, from: directory, what: what))]
        while !pending.isEmpty {
            let current = try walk(path, from: directory, what: what)
            var descended = false
            while let child = pending[pending.count - 1].popLast() {
                guard fstatat(current.raw, child, &info, AT_SYMLINK_NOFOLLOW) == 0 else { continue }
                if info.st_mode & S_IFMT == S_IFDIR {
                    let fd = openat(current.raw, child, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
                    guard fd >= 0 else { throw Syscall.failure("cannot open '\(child.prefix(200))' to remove it (\(what))") }
                    pending.append(try names(in: FileDescriptor(raw: fd)))
                    path.append(child)
                    descended = true
                    break
                }
                guard unlinkat(current.raw, child, 0) == 0 || errno == ENOENT else {
                    throw Syscall.failure("cannot remove '\(child.prefix(200))' (\(what))")
                }
            }
            if descended { continue }
            pending.removeLast()
            let emptied = path.removeLast()
            let parent = try walk(path, from: directory, what: what)
            guard unlinkat(parent.raw, emptied, AT_REMOVEDIR) == 0 || errno == ENOENT else {
                throw Syscall.failure("cannot remove the directory '\(emptied.prefix(200))' (\(what))")
            }
        }
    }

    /// Removes the file or tree at `path` (whose parent directories are trusted), never following a symlink in it.
    static func removeTree(atPath path: String) throws(SwiftletError) {
        let slash = path.lastIndex(of: "/")
        let parentPath = slash.map { $0 == path.startIndex ? "/" : String(path[..<$0]) } ?? "."
        let name = slash.map { String(path[path.index(after: $0)...]) } ?? path
        let fd = open(parentPath, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else {
            if errno == ENOENT { return }
            throw Syscall.failure("cannot open \(parentPath)")
        }
        try removeTree(name, in: FileDescriptor(raw: fd), what: path)
    }

    /// Walks `path` below `directory` without following symlinks.
    private static func walk(_ path: [String], from directory: FileDescriptor, what: String) throws(SwiftletError) -> FileDescriptor {
        var current = directory
        for name in path {
            let fd = openat(current.raw, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
            guard fd >= 0 else { throw Syscall.failure("cannot open '\(name.prefix(200))' to remove it (\(what))") }
            current = FileDescriptor(raw: fd)
        }
        return current
    }
}
