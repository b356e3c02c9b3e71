import Foundation
import SwiftletCore
import SwiftletSandbox

/// What the host offers each isolation tier, found at start.
struct NativeTierSupport: Sendable {
    /// Why the hardened tier cannot run here, or nil when runsc works.
    var hardenedMissing: String? = "the provider has not started"
    /// Whether standard-tier code functions get user namespaces (the kernel allows them).
    var userNamespaces = false
    /// Whether image functions get them too (the kernel and the data directory's file system
    /// take idmapped mounts, which shift the image's file owners into the instance's ids).
    var imageUserNamespaces = false
}

extension NativeProvider {
    /// Whether standard-tier instances of a code (or, with `image`, an image) function get a
    /// user namespace each.
    func usesUserNamespaces(image: Bool) -> Bool {
        tiers.withLockedValue { image ? $0.userNamespaces && $0.imageUserNamespaces : $0.userNamespaces }
    }

    /// Finds what the host offers: runsc for `hardened`, user namespaces for `standard`. Throws
    /// when the default tier is one the host cannot provide.
    func checkTiers() async throws {
        var support = NativeTierSupport()
        let runsc = host.hardenedRuntime
        do {
            try await runsc.checkAvailable()
            support.hardenedMissing = nil
        } catch let error as SwiftletError {
            support.hardenedMissing = error.message
        }
        support.userNamespaces = configuration.userNamespaces && Self.kernelAllowsUserNamespaces()
        support.imageUserNamespaces = support.userNamespaces && IDMappedImage.isSupported(in: configuration.dataDirectory)
        tiers.withLockedValue { $0 = support }
        if configuration.defaultIsolation == .hardened, let reason = support.hardenedMissing {
            throw SwiftletError(.unsupported, "--default-isolation hardened needs gVisor on this host: \(reason)")
        }
        logger.info(
            "isolation tiers",
            metadata: [
                "swiftlet.default_isolation": "\(configuration.defaultIsolation.rawValue)",
                "swiftlet.hardened": "\(support.hardenedMissing ?? "runsc ready")",
                "swiftlet.user_namespaces": "\(support.userNamespaces ? "per instance" : "off")",
                "swiftlet.image_user_namespaces": "\(support.imageUserNamespaces ? "idmapped" : "off")",
            ]
        )
    }

    /// Whether this kernel lets root create user namespaces (`user.max_user_namespaces` > 0).
    static func kernelAllowsUserNamespaces() -> Bool {
        guard FileManager.default.fileExists(atPath: "/proc/self/ns/user"),
            let text = try? String(contentsOfFile: "/proc/sys/user/max_user_namespaces", encoding: .utf8),
            let limit = Int(text.trimmingCharacters(in: .whitespacesAndNewlines))
        else { return false }
        return limit > 0
    }
}
