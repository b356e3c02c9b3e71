import CSwiftletLinux
import Foundation
import SwiftletCore

/// An instance's own writable layer over a read-only image: an overlay mounted at
/// `BUNDLE/rootfs` with its upper and work directories in the bundle, discarded with it.
public enum WritableLayer {
    /// Mounts the overlay of `image` for the bundle directory `bundle`; with `rootOwner` (the
    /// host id of root in the instance's user namespace) the overlay's root belongs to it, as
    /// the image's root directory does inside.
    static func mount(image: String, bundle: String, rootOwner: UInt32? = nil) throws {
        let fm = FileManager.default
        for dir in ["upper", "work", "rootfs"] {
            try fm.createDirectory(atPath: bundle + "/" + dir, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o755])
        }
        if let rootOwner, chown(bundle + "/upper", rootOwner, rootOwner) != 0 {
            throw SwiftletError(.internal, "cannot hand the writable layer of \(bundle) to the instance's root (errno \(errno))")
        }
        let result = cswiftlet_mount_overlay(image, bundle + "/upper", bundle + "/work", bundle + "/rootfs")
        guard result == 0 else {
            throw SwiftletError(
                .internal,
                "cannot mount the writable layer for \(bundle) (\(String(cString: strerror(-result)))); the host needs overlayfs, or deploy with readOnlyRootFilesystem true"
            )
        }
    }

    /// Unmounts the overlay of the bundle directory `bundle`, if mounted. Safe to call always.
    public static func unmount(bundle: String) {
        let target = bundle + "/rootfs"
        guard FileManager.default.fileExists(atPath: bundle + "/upper") else { return }
        _ = cswiftlet_unmount(target)
    }
}
