import SwiftletCore

/// A Docker/OCI image reference, parsed and normalized exactly like Docker does.
///
/// The first path component names a registry when it contains a `.` or a `:`, is `localhost`, or
/// has an uppercase letter; otherwise the image lives on Docker Hub (`docker.io`), whose
/// one-component names live under `library/`. Without a tag or a digest the tag is `latest`.
///
/// ```swift
/// try ImageReference(parsing: "busybox").description            // "docker.io/library/busybox:latest"
/// try ImageReference(parsing: "localhost:5000/x/y:t").registry   // "localhost:5000"
/// try ImageReference(parsing: "ghcr.io/openfaas/figlet:0.1").tag // "0.1"
/// ```
public struct ImageReference: Sendable, Hashable, CustomStringConvertible {
    /// The registry host, with its port if any (`docker.io`, `ghcr.io`, `localhost:5000`).
    public let registry: String
    /// The repository path inside the registry (`library/busybox`, `openfaas/figlet`).
    public let repository: String
    /// The tag; `latest` when neither a tag nor a digest was given, nil for a digest-only reference.
    public let tag: String?
    /// The pinned manifest digest, if any.
    public let digest: Digest?

    /// Docker Hub, the registry of references that name none.
    public static let defaultRegistry = "docker.io"

    /// Creates a reference from its parts (validated like a parsed one).
    public init(registry: String, repository: String, tag: String?, digest: Digest? = nil) throws(SwiftletError) {
        var text = registry + "/" + repository
        if let tag { text += ":" + tag }
        if let digest { text += "@" + digest.description }
        self = try ImageReference(parsing: text)
    }

    /// Parses `[registry[:port]/]repository[:tag][@sha256:<hex>]`; throws `.invalidInput` saying what is wrong.
    public init(parsing text: String) throws(SwiftletError) {
        func invalid(_ why: String) -> SwiftletError {
            SwiftletError(
                .invalidInput,
                "invalid image reference '\(text.prefix(300))': \(why); write it as [registry[:port]/]name[:tag][@sha256:<hex>], e.g. busybox:1.36 or ghcr.io/openfaas/figlet:0.1"
            )
        }
        guard !text.isEmpty else { throw invalid("it is empty") }
        guard text.utf8.count <= 512 else { throw invalid("it is longer than 512 characters") }
        if Digest.isHex(text) {
            throw invalid("a 64-character hex string is an image ID, not a name; give a name, or sha256:<hex> for a manifest digest")
        }
        var rest = Substring(text)
        var digest: Digest?
        if let at = rest.lastIndex(of: "@") {
            let pinned = String(rest[rest.index(after: at)...])
            do {
                digest = try Digest(pinned)
            } catch {
                throw invalid("the digest '\(pinned.prefix(80))' must be sha256: followed by 64 lowercase hex digits")
            }
            rest = rest[..<at]
        }
        var tag: String?
        if let colon = rest.lastIndex(of: ":"), !rest[colon...].contains("/") {
            tag = String(rest[rest.index(after: colon)...])
            rest = rest[..<colon]
        }
        if let tag {
            guard tag.utf8.count <= 128 else { throw invalid("the tag is longer than 128 characters") }
            guard Self.isValidTag(tag) else {
                throw invalid("the tag '\(tag)' may hold only letters, digits, '_', '.' and '-', and must not start with '.' or '-'")
            }
        }
        var registry = Self.defaultRegistry
        var path = rest
        if let slash = rest.firstIndex(of: "/") {
            let first = rest[..<slash]
            if first.contains(".") || first.contains(":") || first == "localhost" || first.contains(where: \.isUppercase) {
                registry = String(first)
                path = rest[rest.index(after: slash)...]
            }
        }
        guard Self.isValidRegistry(registry) else { throw invalid("'\(registry)' is not a valid registry host[:port]") }
        if registry == "index.docker.io" { registry = Self.defaultRegistry }
        guard !path.isEmpty else { throw invalid("the repository name is missing") }
        if path.contains(where: \.isUppercase) {
            throw invalid("the repository name '\(path)' must be lowercase")
        }
        var repository = String(path)
        if registry == Self.defaultRegistry && !repository.contains("/") { repository = "library/" + repository }
        guard repository.split(separator: "/", omittingEmptySubsequences: false).allSatisfy(Self.isValidComponent) else {
            throw invalid(
                "the repository name '\(path)' must be path components of lowercase letters and digits separated by '.', '_', '__' or '-'"
            )
        }
        guard registry.utf8.count + 1 + repository.utf8.count <= 255 else { throw invalid("the name is longer than 255 characters") }
        self.registry = registry
        self.repository = repository
        self.tag = tag ?? (digest == nil ? "latest" : nil)
        self.digest = digest
    }

    /// The normalized form: `registry/repository:tag`, `registry/repository@sha256:…`, or both.
    public var description: String {
        var text = name
        if let tag { text += ":" + tag }
        if let digest { text += "@" + digest.description }
        return text
    }

    /// `registry/repository`, without tag or digest.
    public var name: String { registry + "/" + repository }

    /// This reference with `tag` (and no digest), e.g. to name an image imported from an archive.
    public func withTag(_ tag: String) throws(SwiftletError) -> ImageReference {
        try ImageReference(registry: registry, repository: repository, tag: tag)
    }

    /// Tags: `[A-Za-z0-9_][A-Za-z0-9_.-]*`.
    static func isValidTag(_ tag: String) -> Bool {
        guard let first = tag.utf8.first, first != UInt8(ascii: "."), first != UInt8(ascii: "-") else { return false }
        return tag.utf8.allSatisfy { isAlphanumeric($0) || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "-") }
    }

    /// Path components: `[a-z0-9]+` runs joined by `.`, `_`, `__` or one or more `-`.
    static func isValidComponent(_ component: Substring) -> Bool {
        var separator: [UInt8] = []
        var sawAlphanumeric = false
        for byte in component.utf8 {
            if (0x30...0x39).contains(byte) || (0x61...0x7A).contains(byte) {
                if !separator.isEmpty {
                    let joined = separator == [UInt8(ascii: ".")] || separator == [UInt8(ascii: "_")]
                        || separator == Array("__".utf8) || separator.allSatisfy { $0 == UInt8(ascii: "-") }
                    guard joined else { return false }
                    separator = []
                }
                sawAlphanumeric = true
            } else if byte == UInt8(ascii: ".") || byte == UInt8(ascii: "_") || byte == UInt8(ascii: "-") {
                guard sawAlphanumeric else { return false }
                separator.append(byte)
            } else {
                return false
            }
        }
        return sawAlphanumeric && separator.isEmpty
    }

    /// `host[:port]`: dot-separated labels of letters, digits and inner `-`, or `[ipv6]`, and a numeric port.
    static func isValidRegistry(_ registry: String) -> Bool {
        var host = Substring(registry)
        if let colon = host.lastIndex(of: ":"), !host.hasSuffix("]") {
            let port = host[host.index(after: colon)...]
            guard !port.isEmpty, port.utf8.count <= 5, port.utf8.allSatisfy({ (0x30...0x39).contains($0) }) else { return false }
            host = host[..<colon]
        }
        if host.hasPrefix("[") {
            return host.hasSuffix("]") && host.count > 2
                && host.dropFirst().dropLast().utf8.allSatisfy { isHexDigit($0) || $0 == UInt8(ascii: ":") }
        }
        return !host.isEmpty && host.split(separator: ".", omittingEmptySubsequences: false).allSatisfy { label in
            !label.isEmpty && label.utf8.allSatisfy { isAlphanumeric($0) || $0 == UInt8(ascii: "-") }
                && label.first != "-" && label.last != "-"
        }
    }

    private static func isAlphanumeric(_ byte: UInt8) -> Bool {
        (0x30...0x39).contains(byte) || (0x41...0x5A).contains(byte) || (0x61...0x7A).contains(byte)
    }

    private static func isHexDigit(_ byte: UInt8) -> Bool {
        (0x30...0x39).contains(byte) || (0x41...0x46).contains(byte) || (0x61...0x66).contains(byte)
    }
}
