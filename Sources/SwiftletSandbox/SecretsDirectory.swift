import CSwiftletLinux
import Foundation
import SwiftletCore

/// A small tmpfs holding one instance's secrets as files (0400, owned by the function's uid),
/// bound read-only at `/var/openfaas/secrets` inside the instance. Secrets never touch a disk.
public enum SecretsDirectory {
    /// Where secrets appear inside an instance (the OpenFaaS path).
    public static let mountPath = "/var/openfaas/secrets"

    /// Mounts a tmpfs at `directory` (created if needed) and writes `secrets` into it, owned by
    /// `uid`/`gid`; with no uid known the files are readable by every user of the instance.
    public static func mount(_ directory: String, secrets: [String: Data], uid: UInt32?, gid: UInt32?) throws {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        let owner = uid.map { "uid=\($0),gid=\(gid ?? $0)" } ?? "uid=0,gid=0"
        let mode = uid == nil ? "0555" : "0500"
        let options = "size=\(InstanceMounts.maxSecretsBytes),nr_inodes=1024,mode=\(mode),\(owner)"
        let result = cswiftlet_mount_tmpfs(directory, options)
        guard result == 0 else {
            throw SwiftletError(.internal, "cannot mount the secrets tmpfs at \(directory): \(String(cString: strerror(-result)))")
        }
        do {
            try InstanceMounts.write(secrets, into: directory, uid: uid ?? 0, gid: gid ?? uid ?? 0, mode: uid == nil ? 0o444 : 0o400)
        } catch {
            unmount(directory)
            throw error
        }
    }

    /// Unmounts the tmpfs at `directory` and removes the directory. Safe to call always.
    public static func unmount(_ directory: String) {
        while cswiftlet_unmount(directory) == 0 {}
        rmdir(directory)
    }
}
