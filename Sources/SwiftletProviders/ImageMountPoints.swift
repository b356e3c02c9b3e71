import Foundation
import SwiftletCore

/// The mount points every sandbox needs, created in an image's rootfs before its first instance
/// (the rootfs is read-only to instances, so runc could not create them itself).
enum ImageMountPoints {
    static func prepare(rootfs: String) throws {
        let fm = FileManager.default
        do {
            for dir in ["proc", "dev", "sys", "tmp", "etc"] {
                let path = rootfs + "/" + dir
                // Never follow a link out of the rootfs on the host.
                guard (try? fm.destinationOfSymbolicLink(atPath: path)) == nil else {
                    throw SwiftletError(.invalidInput, "the image's /\(dir) is a symlink; Swiftlet needs a real /\(dir) directory in function images")
                }
                var isDirectory: ObjCBool = false
                if !fm.fileExists(atPath: path, isDirectory: &isDirectory) {
                    try fm.createDirectory(atPath: path, withIntermediateDirectories: false, attributes: [.posixPermissions: 0o755])
                } else if !isDirectory.boolValue {
                    throw SwiftletError(.invalidInput, "the image's /\(dir) is not a directory; Swiftlet needs a real /\(dir) directory in function images")
                }
            }
            // runc gives a tmpfs the mode of its mount point.
            try fm.setAttributes([.posixPermissions: 0o1777], ofItemAtPath: rootfs + "/tmp")
            for file in ["hosts", "hostname", "resolv.conf"] {
                let path = rootfs + "/etc/" + file
                if (try? fm.destinationOfSymbolicLink(atPath: path)) != nil {
                    // A symlink here would let a bind mount follow it: replace it by a file.
                    try fm.removeItem(atPath: path)
                }
                if !fm.fileExists(atPath: path) {
                    _ = fm.createFile(atPath: path, contents: Data(), attributes: [.posixPermissions: 0o644])
                }
            }
        } catch let error as SwiftletError {
            throw error
        } catch {
            throw SwiftletError(.internal, "cannot prepare mount points in the image rootfs \(rootfs): \(error.localizedDescription)")
        }
    }
}
