/// How strongly a function's instances are isolated: `standard` (runc: namespaces, no
/// capabilities, seccomp, cgroups) or `hardened` (gVisor's runsc: a user-space kernel between the
/// function and the host). Chosen per function with the deployment's `isolation` field or the
/// label `com.swiftlet.isolation`; unset means the platform's default.
public enum IsolationTier: String, Codable, Sendable, CaseIterable {
    case standard
    case hardened

    /// The label that chooses the tier.
    public static let label = "com.swiftlet.isolation"

    /// The tier `deployment` asks for (field or label), nil for the platform default; throws for
    /// an unknown value or a field and label that disagree.
    public static func requested(_ deployment: FunctionDeployment) throws(SwiftletError) -> IsolationTier? {
        let field = try deployment.isolation.map { text throws(SwiftletError) in try parse(text, what: "isolation") }
        let fromLabel = try deployment.labels?[label].map { text throws(SwiftletError) in try parse(text, what: "label \(label)") }
        if let field, let fromLabel, field != fromLabel {
            throw SwiftletError(.invalidInput, "isolation is '\(field.rawValue)' but label \(label) is '\(fromLabel.rawValue)'; set one of them")
        }
        return field ?? fromLabel
    }

    private static func parse(_ text: String, what: String) throws(SwiftletError) -> IsolationTier {
        guard let tier = IsolationTier(rawValue: text.lowercased()) else {
            throw SwiftletError(.invalidInput, "\(what) is '\(text.prefix(40))'; use standard or hardened")
        }
        return tier
    }
}

/// Whether a function's instances may open connections beyond their own loopback: the label
/// `com.swiftlet.network` is `none` (the default: the instance's namespace holds only `lo`) or
/// `egress` (its own network with a route out, never shared with another function).
public enum NetworkAccess: String, Sendable, CaseIterable {
    case none
    case egress

    /// The label that asks for egress.
    public static let label = "com.swiftlet.network"

    /// The access `labels` ask for; throws for an unknown value.
    public init(labels: [String: String]) throws(SwiftletError) {
        guard let text = labels[Self.label] else {
            self = .none
            return
        }
        guard let access = NetworkAccess(rawValue: text.lowercased()) else {
            throw SwiftletError(.invalidInput, "label \(Self.label) is '\(text.prefix(40))'; use none or egress")
        }
        self = access
    }
}

extension FunctionSpec {
    /// The network access its labels ask for (validated at deploy; `none` if unreadable).
    public var networkAccess: NetworkAccess { (try? NetworkAccess(labels: labels)) ?? .none }

    /// Its isolation tier, or `defaultTier` when the deployment chose none.
    public func isolationTier(default defaultTier: IsolationTier) -> IsolationTier { isolation ?? defaultTier }
}
