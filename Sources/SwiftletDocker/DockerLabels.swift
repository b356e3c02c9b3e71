import Crypto
import Foundation
import SwiftletCore

/// The labels on every container and network Swiftlet creates in the engine, so it can find its
/// own objects again (after a restart or `kill -9`) and never touches anyone else's.
public enum DockerLabels {
    /// `true` on everything Swiftlet creates.
    public static let managed = "com.swiftlet.managed"
    /// The platform (one data directory) that owns the object.
    public static let platform = "com.swiftlet.platform"
    /// The function an instance or network belongs to.
    public static let function = "com.swiftlet.function"
    /// The instance id of a container.
    public static let instance = "com.swiftlet.instance"
    /// The fingerprint of the function spec a container was started from.
    public static let spec = "com.swiftlet.spec"
    /// `instance` or `network`.
    public static let kind = "com.swiftlet.kind"

    /// The labels of an instance's container.
    static func instance(platform: String, spec: FunctionSpec, instanceID: String) -> [String: String] {
        [
            managed: "true", Self.platform: platform, function: spec.name, instance: instanceID,
            Self.spec: fingerprint(spec), kind: "instance",
        ]
    }

    /// The labels of a function's egress network.
    static func network(platform: String, function name: String) -> [String: String] {
        [managed: "true", Self.platform: platform, function: name, kind: "network"]
    }

    /// The filter selecting everything of `platform`.
    static func filter(platform: String) -> [String] { ["\(managed)=true", "\(Self.platform)=\(platform)"] }

    /// A short hash of everything in `spec` that shapes an instance (not its timestamps), so a
    /// running container is adopted only by the spec it was started from.
    public static func fingerprint(_ spec: FunctionSpec) -> String {
        var stable = spec
        stable.createdAt = Date(timeIntervalSince1970: 0)
        stable.updatedAt = Date(timeIntervalSince1970: 0)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let data = (try? encoder.encode(stable)) ?? Data(spec.name.utf8)
        return String(SHA256.hash(data: data).map { String(format: "%02x", $0) }.joined().prefix(16))
    }
}
