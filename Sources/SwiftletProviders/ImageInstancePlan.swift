import Foundation
import SwiftletCore
import SwiftletSandbox

/// How an image function's instance runs: command, environment, user, working directory and
/// port, from the image's config and the deployment, following the OpenFaaS watchdog convention.
package struct ImageInstancePlan: Sendable, Equatable {
    var args: [String]
    var env: [String: String]
    var cwd: String
    var uid: UInt32
    var gid: UInt32
    var port: UInt16

    /// The label that runs an image whose user is root as another uid instead of refusing it.
    package static let userLabel = "com.swiftlet.user"

    init(image: ImageRootfs, spec: FunctionSpec) throws {
        args = image.config.entrypoint + image.config.cmd
        guard !args.isEmpty else {
            throw SwiftletError(.invalidInput, "image \(image.reference) has no Entrypoint or Cmd; Swiftlet cannot tell what to run")
        }
        var env: [String: String] = ["PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"]
        for entry in image.config.env {
            let parts = entry.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            env[String(parts[0])] = parts.count > 1 ? String(parts[1]) : ""
        }
        for (key, value) in spec.envVars { env[key] = value }
        if let process = spec.envProcess, !process.isEmpty { env["fprocess"] = process }
        self.env = env
        cwd = image.config.workingDir.flatMap { $0.isEmpty ? nil : $0 } ?? "/"
        port = Self.port(image.config.exposedPorts)
        let user = spec.labels[Self.userLabel] ?? image.config.user ?? ""
        (uid, gid) = try Self.resolveUser(user, rootfs: image.rootfs, reference: image.reference)
    }

    /// The single exposed TCP port, else 8080 (the watchdog's).
    package static func port(_ exposed: [String]) -> UInt16 {
        let tcp = exposed.compactMap { entry -> UInt16? in
            let parts = entry.split(separator: "/")
            guard parts.count == 1 || parts.last == "tcp" else { return nil }
            return UInt16(parts[0])
        }
        return tcp.count == 1 ? tcp[0] : 8080
    }

    /// Resolves `user` (`name`, `uid`, `uid:gid`, `name:group`) against the image's own
    /// `/etc/passwd` and `/etc/group`. Root is refused: functions never run as root.
    static func resolveUser(_ user: String, rootfs: String, reference: String) throws -> (UInt32, UInt32) {
        let parts = user.split(separator: ":", maxSplits: 1).map(String.init)
        let name = parts.first ?? ""
        let passwd = Self.table(rootfs + "/etc/passwd")
        var uid: UInt32
        var gid: UInt32
        if name.isEmpty {
            uid = 0
            gid = 0
        } else if let number = UInt32(name) {
            uid = number
            gid = passwd.first { $0.count > 3 && $0[2] == name }.flatMap { UInt32($0[3]) } ?? number
        } else if let entry = passwd.first(where: { $0.count > 3 && $0[0] == name }), let u = UInt32(entry[2]), let g = UInt32(entry[3]) {
            uid = u
            gid = g
        } else {
            throw SwiftletError(.invalidInput, "image \(reference) runs as user '\(name)', which its /etc/passwd does not define")
        }
        if parts.count == 2 {
            if let number = UInt32(parts[1]) {
                gid = number
            } else if let entry = Self.table(rootfs + "/etc/group").first(where: { $0.count > 2 && $0[0] == parts[1] }), let g = UInt32(entry[2]) {
                gid = g
            } else {
                throw SwiftletError(.invalidInput, "image \(reference) runs as group '\(parts[1])', which its /etc/group does not define")
            }
        }
        guard uid != 0 else {
            throw SwiftletError(
                .invalidInput,
                "image \(reference) runs as root; Swiftlet never runs functions as root: add `USER app` (or a uid) to the image, or set the label \(userLabel)=<uid> to run it as that uid"
            )
        }
        return (uid, gid)
    }

    private static func table(_ path: String) -> [[String]] {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return [] }
        return text.split(separator: "\n").map { $0.split(separator: ":", omittingEmptySubsequences: false).map(String.init) }
    }
}
