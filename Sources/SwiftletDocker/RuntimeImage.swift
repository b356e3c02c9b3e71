import Crypto
import Foundation
import Logging
import SwiftletCore
import SwiftletSandbox

/// The image code functions run in on the Docker provider, made from this host and imported into
/// the engine on first use (no registry, no internet): the same skeleton the native provider
/// uses (mount points, merged-usr symlinks, a generated `/etc` with the `app` user 10001). The
/// host's `/usr` (and real `/lib*`, `/bin`, `/sbin`), the runners and the code are bound
/// read-only into each container, exactly as on the native provider.
struct RuntimeImage: Sendable {
    /// The repository of the runtime images (`swiftlet-runtime:<content hash>`).
    static let repository = "swiftlet-runtime"

    let host: SandboxHost

    /// The read-only binds every code function's container gets from the host.
    var hostMounts: [DockerContainerConfig.Mount] {
        var mounts = [DockerContainerConfig.Mount(source: "/usr", target: "/usr")]
        mounts += host.hostSystemDirectories.map { DockerContainerConfig.Mount(source: $0, target: $0) }
        for name in SandboxHost.etcDirectoryBinds where FileManager.default.fileExists(atPath: "/etc/" + name) {
            mounts.append(DockerContainerConfig.Mount(source: "/etc/" + name, target: "/etc/" + name))
        }
        return mounts
    }

    /// Builds the skeleton tarball and imports it unless the engine has it; returns the reference.
    func ensure(in engine: DockerEngine, logger: Logger) async throws -> String {
        try host.prepare()
        let staging = host.runDirectory + "/image-staging"
        let tarPath = host.runDirectory + "/runtime-image.tar"
        let fm = FileManager.default
        try? fm.removeItem(atPath: staging)
        defer {
            try? fm.removeItem(atPath: staging)
            try? fm.removeItem(atPath: tarPath)
        }
        do {
            try fm.copyItem(atPath: host.rootfs, toPath: staging)
            try fm.removeItem(atPath: staging + "/etc")
            try fm.copyItem(atPath: host.etc, toPath: staging + "/etc")
            // The engine binds its init at /sbin/docker-init: /sbin must be a real directory,
            // not the merged-usr link into the read-only host /usr.
            if (try? fm.destinationOfSymbolicLink(atPath: staging + "/sbin")) != nil {
                try fm.removeItem(atPath: staging + "/sbin")
                try fm.createDirectory(atPath: staging + "/sbin", withIntermediateDirectories: false, attributes: [.posixPermissions: 0o755])
            }
        } catch {
            throw SwiftletError(.internal, "cannot assemble the runtime image in \(staging): \(error.localizedDescription)", cause: error)
        }
        // Byte-for-byte reproducible, so its hash names its content.
        let output = try await CommandRunner.run(
            "/usr/bin/tar",
            ["--create", "--file", tarPath, "--sort=name", "--mtime=@0", "--owner=0", "--group=0", "--numeric-owner", "-C", staging, "."]
        )
        guard output.status == 0 else {
            throw SwiftletError(.internal, "cannot pack the runtime image: \(output.stderrText)")
        }
        let tar = try Data(contentsOf: URL(fileURLWithPath: tarPath))
        let tag = String(SHA256.hash(data: tar).map { String(format: "%02x", $0) }.joined().prefix(16))
        let reference = "\(Self.repository):\(tag)"
        if try await engine.inspectImage(reference) == nil {
            try await engine.importImage(tar: tar, repository: Self.repository, tag: tag)
            logger.info("imported the runtime image into the Docker engine", metadata: ["swiftlet.image": "\(reference)", "swiftlet.bytes": "\(tar.count)"])
        }
        return reference
    }
}
