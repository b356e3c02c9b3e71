import CSwiftletLinux
import Foundation
import SwiftletCore

/// The host-side mounts of one instance, all under its bundle directory and all removed with it:
///
/// - `secrets/`: a small tmpfs with the function's secrets (0400, owned by the function's uid),
///   bound read-only at `/var/openfaas/secrets`;
/// - `hub/` (warm sandboxes): a mount with shared propagation whose `function/` and `python/`
///   directories are bound into the sandbox with `rslave`, so a read-only bind made here after
///   the sandbox started appears inside it.
enum InstanceMounts {
    /// Where secrets are mounted inside a sandbox (the OpenFaaS path).
    static let secretsPath = SecretsDirectory.mountPath
    /// The largest total size of the secrets of one instance.
    static let maxSecretsBytes = 16 * 1024 * 1024

    static func secretsDirectory(bundle: String) -> String { bundle + "/secrets" }
    static func hub(bundle: String) -> String { bundle + "/hub" }

    /// Creates the mounts `spec` asks for in `bundle`.
    static func prepare(spec: SandboxSpec, bundle: String) throws {
        let fm = FileManager.default
        if spec.secrets != nil || spec.warm {
            try SecretsDirectory.mount(secretsDirectory(bundle: bundle), secrets: spec.secrets ?? [:], uid: spec.hostUID, gid: spec.hostGID)
        }
        if spec.warm {
            let hub = hub(bundle: bundle)
            for dir in ["function", "python", "staging"] {
                try fm.createDirectory(atPath: hub + "/" + dir, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o755])
            }
            let result = cswiftlet_make_propagation_hub(hub)
            guard result == 0 else {
                throw SwiftletError(.internal, "cannot prepare the warm sandbox \(spec.id): \(String(cString: strerror(-result)))")
            }
        }
    }

    /// Binds `source` read-only at `hub/<slot>` (and so at `/home/app/<slot>` inside).
    static func attach(_ source: String, slot: String, bundle: String) throws {
        let hub = hub(bundle: bundle)
        let staging = bundle + "/staging-" + slot
        try FileManager.default.createDirectory(atPath: staging, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        defer { rmdir(staging) }
        let result = cswiftlet_bind_readonly(source, staging, hub + "/" + slot)
        guard result == 0 else {
            throw SwiftletError(.internal, "cannot bind \(source) into the warm sandbox: \(String(cString: strerror(-result)))")
        }
    }

    /// Writes `secrets` as files into the tmpfs `directory`.
    static func write(_ secrets: [String: Data], into directory: String, uid: UInt32, gid: UInt32, mode: mode_t = 0o400) throws {
        let total = secrets.values.reduce(0) { $0 + $1.count }
        guard total <= maxSecretsBytes - 64 * 1024 else {
            throw SwiftletError(.tooLarge, "the secrets of this function add up to \(total) bytes; an instance takes at most \(maxSecretsBytes - 64 * 1024)")
        }
        for (name, value) in secrets {
            guard !name.isEmpty, !name.contains("/"), name != ".", name != ".." else {
                throw SwiftletError(.invalidInput, "invalid secret name '\(name.prefix(60))'")
            }
            let fd = open(directory + "/" + name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode)
            guard fd >= 0 else {
                throw SwiftletError(.internal, "cannot write secret '\(name)' for the instance (errno \(errno))")
            }
            defer { close(fd) }
            let written = value.withUnsafeBytes { buffer -> Int in
                guard let base = buffer.baseAddress else { return 0 }
                var offset = 0
                while offset < buffer.count {
                    let n = Foundation.write(fd, base + offset, buffer.count - offset)
                    if n < 0 {
                        if errno == EINTR { continue }
                        return -1
                    }
                    offset += n
                }
                return offset
            }
            guard written == value.count, fchown(fd, uid, gid) == 0, fchmod(fd, mode) == 0 else {
                throw SwiftletError(.internal, "cannot write secret '\(name)' for the instance (errno \(errno))")
            }
        }
    }

    /// Unmounts everything under `bundle` (code binds, hub, secrets). Safe to call always.
    static func unmountAll(bundle: String) {
        let hub = hub(bundle: bundle)
        let fm = FileManager.default
        if fm.fileExists(atPath: hub) {
            for slot in ["function", "python"] {
                // Stacked binds (never more than one in practice) come off one by one.
                while cswiftlet_unmount(hub + "/" + slot) == 0 {}
            }
            while cswiftlet_unmount(hub) == 0 {}
        }
        for slot in ["function", "python"] {
            _ = cswiftlet_unmount(bundle + "/staging-" + slot)
        }
        let secrets = secretsDirectory(bundle: bundle)
        if fm.fileExists(atPath: secrets) {
            while cswiftlet_unmount(secrets) == 0 {}
        }
    }
}
