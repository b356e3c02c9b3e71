import CSwiftletLinux
import Foundation
import SwiftletCore

/// An image's root as an instance with a user namespace sees it: an idmapped, read-only view of
/// the unpacked image at `BUNDLE/image`, whose file owners are shifted by the instance's id
/// mapping (owner 1000 on disk shows as host id `block + 1000`, which is 1000 inside). The
/// instance's root (or the lower layer of its writable overlay) is this view; the image on
/// disk is shared and never changed.
public enum IDMappedImage {
    /// Where the view of the bundle `bundle` is mounted.
    static func path(bundle: String) -> String { bundle + "/image" }

    /// Mounts the view of `image` for `bundle` through `mapping`.
    static func mount(image: String, bundle: String, mapping: IDMapping) throws {
        let target = path(bundle: bundle)
        try FileManager.default.createDirectory(atPath: target, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o755])
        try mount(image, at: target, mapping: mapping)
    }

    /// Unmounts the view of `bundle`, if mounted. Safe to call always.
    static func unmount(bundle: String) {
        let target = path(bundle: bundle)
        guard FileManager.default.fileExists(atPath: target) else { return }
        while cswiftlet_unmount(target) == 0 {}
    }

    /// Whether this kernel and the file system of `directory` take idmapped mounts: maps a
    /// scratch directory made there and unmounts it again.
    public static func isSupported(in directory: String) -> Bool {
        let scratch = directory + "/.idmap-probe-\(UInt32.random(in: 0...UInt32.max))"
        let fm = FileManager.default
        defer { try? fm.removeItem(atPath: scratch) }
        do {
            try fm.createDirectory(atPath: scratch + "/source", withIntermediateDirectories: true)
            try fm.createDirectory(atPath: scratch + "/view", withIntermediateDirectories: true)
            try mount(scratch + "/source", at: scratch + "/view", mapping: IDMapping(hostID: HostIDRanges.firstHostID, size: 1))
        } catch {
            return false
        }
        while cswiftlet_unmount(scratch + "/view") == 0 {}
        return true
    }

    private static func mount(_ source: String, at target: String, mapping: IDMapping) throws {
        let namespace = cswiftlet_userns_fd(mapping.hostID, mapping.size)
        guard namespace >= 0 else {
            throw SwiftletError(.internal, "cannot make a user namespace for an image's id mapping: \(String(cString: strerror(-namespace)))")
        }
        defer { close(namespace) }
        let result = cswiftlet_mount_idmapped(source, target, namespace)
        guard result == 0 else {
            throw SwiftletError(
                .internal,
                "cannot map the image's file owners into the instance's user namespace (\(String(cString: strerror(-result)))); the kernel needs idmapped mounts (Linux 5.12 or later), or start swiftlet with --no-user-namespaces"
            )
        }
    }
}
