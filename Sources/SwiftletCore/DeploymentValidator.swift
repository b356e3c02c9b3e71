import Foundation

/// Checks a `FunctionDeployment` and turns it into a `FunctionSpec` and the decoded code bytes.
///
/// Everything a client sends is checked here, before anything is stored or started, so a bad
/// deployment is refused with a message that says what to fix and nothing is left behind.
public struct DeploymentValidator: Sendable {
    /// Limits on what a deployment may carry.
    public struct Limits: Sendable {
        /// The largest decoded code (file or bundle), in bytes.
        public var maxCodeBytes: Int
        /// The most environment variables, labels or annotations of each kind.
        public var maxEntries: Int
        /// The longest key or value, in bytes.
        public var maxValueBytes: Int

        /// Creates limits; the defaults suit a single machine.
        public init(maxCodeBytes: Int = 8 * 1024 * 1024, maxEntries: Int = 256, maxValueBytes: Int = 64 * 1024) {
            self.maxCodeBytes = maxCodeBytes
            self.maxEntries = maxEntries
            self.maxValueBytes = maxValueBytes
        }
    }

    /// The limits applied.
    public var limits: Limits

    /// Creates a validator.
    public init(limits: Limits = Limits()) {
        self.limits = limits
    }

    /// A checked deployment.
    public struct Validated: Sendable {
        /// The function as it will be stored (its `codeDigest` is filled by the caller).
        public var spec: FunctionSpec
        /// The decoded code: a handler file, or a gzip'd tar bundle.
        public var code: Data
        /// Pull credentials from `registryAuth` (never stored).
        public var registryAuth: RegistryAuth?
    }

    /// A user name and password for pulling the deployment's image.
    public struct RegistryAuth: Sendable, Equatable {
        /// The user name.
        public var username: String
        /// The password or token.
        public var password: String
    }

    /// Decodes `registryAuth` (base64 of `user:password`).
    static func checkRegistryAuth(_ text: String) throws(SwiftletError) -> RegistryAuth? {
        if text.isEmpty { return nil }
        guard text.utf8.count <= 8192, let data = Data(base64Encoded: text), let plain = String(data: data, encoding: .utf8),
            let colon = plain.firstIndex(of: ":"), colon != plain.startIndex
        else {
            throw SwiftletError(.invalidInput, "registryAuth must be the base64 of user:password (at most 8 KiB)")
        }
        return RegistryAuth(username: String(plain[..<colon]), password: String(plain[plain.index(after: colon)...]))
    }

    /// Validates `deployment`; `now` stamps the spec.
    public func validate(_ deployment: FunctionDeployment, now: Date = Date()) throws(SwiftletError) -> Validated {
        try FunctionName.validate(deployment.service)
        let namespace = try FunctionName.resolveNamespace(deployment.namespace)
        let runtime: Runtime?
        let code: Data
        if deployment.runtime == nil, let image = deployment.image, !image.isEmpty {
            try Self.checkImageReference(image)
            guard deployment.code == nil || deployment.code!.isEmpty else {
                throw SwiftletError(.invalidInput, "\"code\" needs a \"runtime\" (\(Runtime.validNames)); an image function gives only \"image\"")
            }
            runtime = nil
            code = Data()
        } else {
            runtime = try Runtime.parse(deployment.runtime)
            code = try decodeCode(deployment.code)
        }

        let envVars = deployment.envVars ?? [:]
        try checkMap(envVars, what: "envVars")
        for key in envVars.keys where !Self.isValidEnvName(key) {
            throw SwiftletError(.invalidInput, "invalid environment variable name '\(key.prefix(60))': use letters, digits and '_', not starting with a digit")
        }
        if let timeout = envVars["exec_timeout"] {
            _ = try ResourceQuantity.duration(timeout)
        }
        if let text = envVars["max_inflight"], !text.isEmpty, Int(text.trimmingCharacters(in: .whitespaces)).map({ $0 < 0 }) ?? true {
            throw SwiftletError(.invalidInput, "max_inflight is '\(text.prefix(40))'; it must be a whole number (0 = no limit)")
        }
        try checkMap(deployment.labels ?? [:], what: "labels")
        _ = try ScalingLabels(validating: deployment.labels ?? [:])
        _ = try AsyncLabels(validating: deployment.labels ?? [:])
        let debug = try DebugMode.isRequested(deployment)
        let isolation = try IsolationTier.requested(deployment)
        _ = try NetworkAccess(labels: deployment.labels ?? [:])
        let registryAuth = try deployment.registryAuth.flatMap { text throws(SwiftletError) in try Self.checkRegistryAuth(text) }
        try checkMap(deployment.annotations ?? [:], what: "annotations")
        for resources in [deployment.limits, deployment.requests].compactMap({ $0 }) {
            if let memory = resources.memory { _ = try ResourceQuantity.memoryBytes(memory) }
            if let cpu = resources.cpu { _ = try ResourceQuantity.cpus(cpu) }
        }
        let secrets = try checkSecrets(deployment.secrets ?? [])
        var labels = deployment.labels ?? [:]
        labels.removeValue(forKey: "faas_function")
        return Validated(
            spec: FunctionSpec(
                name: deployment.service, namespace: namespace, runtime: runtime,
                image: runtime == nil ? deployment.image : nil, codeDigest: "",
                readOnlyRootFilesystem: deployment.readOnlyRootFilesystem,
                envVars: envVars, labels: labels, annotations: deployment.annotations ?? [:], secrets: secrets,
                constraints: deployment.constraints ?? [], envProcess: deployment.envProcess,
                limits: deployment.limits, requests: deployment.requests, createdAt: now, updatedAt: now,
                debug: debug ? true : nil, isolation: isolation
            ),
            code: code, registryAuth: registryAuth
        )
    }

    private func decodeCode(_ base64: String?) throws(SwiftletError) -> Data {
        guard let base64, !base64.isEmpty else {
            throw SwiftletError(.invalidInput, "no code given: set \"code\" to the base64 of a handler file or of a .tar.gz bundle")
        }
        // base64 grows 4/3: refuse before decoding anything huge.
        guard base64.utf8.count <= (limits.maxCodeBytes / 3 + 1) * 4 + 4 else {
            throw SwiftletError(.tooLarge, "the code is larger than \(limits.maxCodeBytes) bytes; make the bundle smaller")
        }
        guard let data = Data(base64Encoded: base64, options: [.ignoreUnknownCharacters]), !data.isEmpty,
            Self.isStrictBase64(base64)
        else {
            throw SwiftletError(.invalidInput, "\"code\" is not valid base64: encode the handler file or bundle with `base64 -w0`")
        }
        guard data.count <= limits.maxCodeBytes else {
            throw SwiftletError(.tooLarge, "the code is \(data.count) bytes; the limit is \(limits.maxCodeBytes) bytes")
        }
        return data
    }

    /// Checks the secret names (each mounted as a file, so each a DNS-1123 label) and drops
    /// repeats, keeping the first order. Whether the secrets exist is checked by the gateway and
    /// the store.
    private func checkSecrets(_ secrets: [String]) throws(SwiftletError) -> [String] {
        guard secrets.count <= limits.maxEntries else {
            throw SwiftletError(.invalidInput, "too many secrets: \(secrets.count); at most \(limits.maxEntries) are allowed")
        }
        var seen: Set<String> = []
        var unique: [String] = []
        for secret in secrets {
            do { try FunctionName.validate(secret) } catch {
                throw SwiftletError(.invalidInput, "invalid secret name '\(secret.prefix(60))': \(error.message)")
            }
            if seen.insert(secret).inserted { unique.append(secret) }
        }
        return unique
    }

    private func checkMap(_ map: [String: String], what: String) throws(SwiftletError) {
        guard map.count <= limits.maxEntries else {
            throw SwiftletError(.invalidInput, "too many \(what): \(map.count); at most \(limits.maxEntries) are allowed")
        }
        for (key, value) in map {
            guard !key.isEmpty, key.utf8.count <= limits.maxValueBytes, value.utf8.count <= limits.maxValueBytes else {
                throw SwiftletError(.invalidInput, "\(what) entry '\(key.prefix(60))' is empty or longer than \(limits.maxValueBytes) bytes")
            }
            guard !key.utf8.contains(0), !value.utf8.contains(0) else {
                throw SwiftletError(.invalidInput, "\(what) entry '\(key.prefix(60))' contains a NUL byte")
            }
        }
    }

    /// A first check of an image reference: printable, no spaces, bounded. The image store parses
    /// it fully.
    static func checkImageReference(_ image: String) throws(SwiftletError) {
        guard image.utf8.count <= 512, image.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F }) else {
            throw SwiftletError(.invalidInput, "invalid image reference '\(image.prefix(80))': use a reference like ghcr.io/openfaas/figlet:latest")
        }
    }

    /// Whether `name` is a valid POSIX environment variable name.
    public static func isValidEnvName(_ name: String) -> Bool {
        guard let first = name.utf8.first, !(first >= 0x30 && first <= 0x39) else { return false }
        return name.utf8.allSatisfy { ($0 >= 0x41 && $0 <= 0x5A) || ($0 >= 0x61 && $0 <= 0x7A) || ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x5F }
    }

    /// Base64 alphabet and whitespace, with padding only at the end.
    static func isStrictBase64(_ text: String) -> Bool {
        let significant = text.utf8.filter { $0 != 0x0A && $0 != 0x0D && $0 != 0x20 }
        if let firstPad = significant.firstIndex(of: 0x3D) {
            guard significant[firstPad...].allSatisfy({ $0 == 0x3D }), significant.count - firstPad <= 2 else { return false }
        }
        return text.utf8.allSatisfy {
            ($0 >= 0x41 && $0 <= 0x5A) || ($0 >= 0x61 && $0 <= 0x7A) || ($0 >= 0x30 && $0 <= 0x39)
                || $0 == 0x2B || $0 == 0x2F || $0 == 0x3D || $0 == 0x0A || $0 == 0x0D || $0 == 0x20
        }
    }
}
