import SwiftletCore

/// A parsed image reference for a registry pull: `host[:port]/repository[:tag][@sha256:…]`.
///
/// A reference without a host (`alpine`, `library/alpine:3.20`) names Docker Hub, whose
/// one-component repositories live under `library/`. Without a tag or digest the tag is `latest`.
///
/// ```swift
/// let ref = try RegistryReference(parsing: "127.0.0.1:5000/hello:1.0")
/// ref.host        // "127.0.0.1:5000"
/// ref.repository  // "hello"
/// ref.tag         // "1.0"
/// ```
public struct RegistryReference: Sendable, Hashable, CustomStringConvertible {
    /// The registry host as written, with its port (`127.0.0.1:5000`, `ghcr.io`, `docker.io`).
    public let host: String
    /// The repository path inside the registry (`library/alpine`, `team/app`).
    public let repository: String
    /// The tag, if any (`latest` when neither a tag nor a digest was given).
    public let tag: String?
    /// The manifest digest (`sha256:<64 hex>`), if the reference pins one.
    public let digest: String?

    /// Parses `host[:port]/repository[:tag][@sha256:…]`; throws `.invalidInput` with the expected form.
    public init(parsing text: String) throws {
        func invalid(_ why: String) -> SwiftletError {
            SwiftletError(
                .invalidInput,
                "invalid image reference '\(text)': \(why); "
                    + "use host[:port]/repository[:tag|@sha256:<hex>], e.g. 127.0.0.1:5000/hello:latest"
            )
        }
        var rest = Substring(text)
        var digest: String?
        if let at = rest.firstIndex(of: "@") {
            let pinned = String(rest[rest.index(after: at)...])
            guard RegistryDigest.isValid(pinned) else { throw invalid("the digest must be sha256: followed by 64 lowercase hex digits") }
            digest = pinned
            rest = rest[..<at]
        }
        var host = "docker.io"
        if let slash = rest.firstIndex(of: "/") {
            let first = rest[..<slash]
            if first.contains(".") || first.contains(":") || first == "localhost" {
                host = String(first)
                rest = rest[rest.index(after: slash)...]
            }
        }
        guard Self.isValidHost(host) else { throw invalid("'\(host)' is not a valid registry host") }
        var tag: String?
        if let colon = rest.lastIndex(of: ":"), !rest[colon...].contains("/") {
            tag = String(rest[rest.index(after: colon)...])
            rest = rest[..<colon]
        }
        if let tag, !Self.isValidTag(tag) {
            throw invalid("the tag '\(tag)' must be 1 to 128 letters, digits, '_', '.' or '-', not starting with '.' or '-'")
        }
        var repository = String(rest)
        if host == "docker.io" && !repository.contains("/") { repository = "library/" + repository }
        guard Self.isValidRepository(repository) else {
            throw invalid(
                "the repository '\(repository)' must be lowercase path components of letters and digits separated by '.', '_', '__' or '-'")
        }
        self.host = host
        self.repository = repository
        self.tag = tag ?? (digest == nil ? "latest" : nil)
        self.digest = digest
    }

    /// The host the distribution API is served on (Docker Hub's API lives on `registry-1.docker.io`).
    public var apiHost: String { host == "docker.io" ? "registry-1.docker.io" : host }

    /// What to put after `/manifests/`: the digest if pinned, otherwise the tag.
    public var manifestReference: String { digest ?? tag ?? "latest" }

    /// The normalized reference: `host/repository:tag`, `host/repository@digest` or both.
    public var description: String {
        var text = host + "/" + repository
        if let tag { text += ":" + tag }
        if let digest { text += "@" + digest }
        return text
    }

    static func isValidHost(_ host: String) -> Bool {
        var name = Substring(host)
        if let colon = name.lastIndex(of: ":"), !name.hasSuffix("]") {
            let port = name[name.index(after: colon)...]
            guard !port.isEmpty, port.count <= 5, port.allSatisfy(\.registryIsDigit) else { return false }
            name = name[..<colon]
        }
        if name.hasPrefix("[") && name.hasSuffix("]") {
            return name.count > 2 && name.dropFirst().dropLast().allSatisfy { $0.registryIsHexDigit || $0 == ":" }
        }
        return !name.isEmpty && name.allSatisfy { $0.registryIsAlphanumeric || $0 == "." || $0 == "-" }
            && !name.hasPrefix("-") && !name.hasPrefix(".")
    }

    static func isValidTag(_ tag: String) -> Bool {
        guard let first = tag.first, tag.count <= 128, first != ".", first != "-" else { return false }
        return tag.allSatisfy { $0.registryIsAlphanumeric || $0 == "_" || $0 == "." || $0 == "-" }
    }

    /// Each component: `[a-z0-9]+` runs joined by `.`, `_`, `__` or one or more `-`.
    static func isValidRepository(_ repository: String) -> Bool {
        guard !repository.isEmpty, repository.utf8.count <= 255 else { return false }
        return repository.split(separator: "/", omittingEmptySubsequences: false).allSatisfy { component in
            var previousWasSeparator = true
            var separator = ""
            for character in component {
                if character.registryIsDigit || ("a"..."z").contains(character) {
                    if !separator.isEmpty {
                        guard separator == "." || separator == "_" || separator == "__" || separator.allSatisfy({ $0 == "-" }) else {
                            return false
                        }
                        separator = ""
                    }
                    previousWasSeparator = false
                } else if character == "." || character == "_" || character == "-" {
                    if previousWasSeparator && separator.isEmpty { return false }
                    separator.append(character)
                } else {
                    return false
                }
            }
            return !previousWasSeparator && separator.isEmpty
        }
    }
}

/// Checks and splits `sha256:<hex>` digests; only sha256 is supported, and the hex is always
/// validated before it becomes part of a path.
enum RegistryDigest {
    /// True for `sha256:` followed by exactly 64 lowercase hex digits.
    static func isValid(_ digest: String) -> Bool {
        guard digest.hasPrefix("sha256:") else { return false }
        let hex = digest.dropFirst(7)
        return hex.count == 64 && hex.allSatisfy { $0.registryIsDigit || ("a"..."f").contains($0) }
    }

    /// The hex part of a valid digest, or an error naming where the digest came from.
    static func hex(_ digest: String, in context: String) throws -> String {
        guard isValid(digest) else {
            throw SwiftletError(
                .unsupported,
                "\(context) uses the digest '\(digest)'; only sha256 digests (sha256:<64 hex>) are supported"
            )
        }
        return String(digest.dropFirst(7))
    }
}

extension Character {
    fileprivate var registryIsDigit: Bool { ("0"..."9").contains(self) }
    fileprivate var registryIsHexDigit: Bool { registryIsDigit || ("a"..."f").contains(self) || ("A"..."F").contains(self) }
    fileprivate var registryIsAlphanumeric: Bool { registryIsDigit || ("a"..."z").contains(self) || ("A"..."Z").contains(self) }
}
