/// The platform an image runs on (`linux/amd64`, `linux/arm/v7`).
public struct OCIPlatform: Codable, Sendable, Hashable, CustomStringConvertible {
    /// The CPU architecture, Go style (`amd64`, `arm64`).
    public var architecture: String
    /// The operating system (`linux`).
    public var os: String
    /// The CPU variant (`v7`, `v8`), if any.
    public var variant: String?

    /// Creates a platform.
    public init(os: String, architecture: String, variant: String? = nil) {
        self.os = os
        self.architecture = architecture
        self.variant = variant
    }

    /// The platform of this machine (`linux/amd64` on x86-64, `linux/arm64` on ARM64).
    public static var host: OCIPlatform {
        #if arch(arm64)
        OCIPlatform(os: "linux", architecture: "arm64")
        #else
        OCIPlatform(os: "linux", architecture: "amd64")
        #endif
    }

    /// `os/architecture[/variant]`.
    public var description: String { [os, architecture, variant].compactMap { $0 }.joined(separator: "/") }
}
