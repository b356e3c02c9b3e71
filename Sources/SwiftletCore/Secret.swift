import Foundation

/// A secret as a client creates or updates it: the OpenFaaS `Secret` body of `POST`/`PUT
/// /system/secrets`. Exactly one of `value` (text) and `rawValue` (base64 bytes) is given.
///
/// ```swift
/// let checked = try Secret(name: "db-pass", value: "hunter2").validated()
/// try await store.insertSecret(name: checked.name, namespace: checked.namespace, value: checked.value)
/// ```
///
/// Its `description` never shows the value, so printing or logging a `Secret` is safe.
public struct Secret: Codable, Sendable, Equatable {
    /// The secret's name: the file name under `/var/openfaas/secrets`, a DNS-1123 label.
    public var name: String
    /// The namespace; Swiftlet serves `openfaas-fn`.
    public var namespace: String?
    /// The value as text (stored as its UTF-8 bytes).
    public var value: String?
    /// The value as base64 bytes, for binary values.
    public var rawValue: String?

    /// The largest value, in bytes (1 MiB, as a Kubernetes secret). Larger values get 413.
    public static let maxValueBytes = 1024 * 1024

    /// Creates a secret body.
    public init(name: String, namespace: String? = nil, value: String? = nil, rawValue: String? = nil) {
        self.name = name
        self.namespace = namespace
        self.value = value
        self.rawValue = rawValue
    }

    /// A checked secret: its name, its resolved namespace and the bytes of its value.
    public struct Validated: Sendable, Equatable, CustomStringConvertible {
        /// The secret's name.
        public var name: String
        /// The namespace it lives in.
        public var namespace: String
        /// The value's bytes.
        public var value: Data

        public var description: String { "Secret.Validated(name: \(name), namespace: \(namespace), value: <\(value.count) bytes>)" }
    }

    /// Checks the name, the namespace and the value, and decodes `rawValue`.
    ///
    /// The errors never contain the value.
    public func validated() throws(SwiftletError) -> Validated {
        try Self.validateName(name)
        let namespace = try FunctionName.resolveNamespace(namespace)
        let bytes: Data
        switch (value, rawValue) {
        case (.some, .some):
            throw SwiftletError(.invalidInput, "give either \"value\" (text) or \"rawValue\" (base64), not both")
        case (nil, nil):
            throw SwiftletError(.invalidInput, "the secret has no value: give \"value\" (text) or \"rawValue\" (base64 bytes)")
        case (.some(let text), nil):
            guard text.utf8.count <= Self.maxValueBytes else {
                throw Self.tooLarge(text.utf8.count)
            }
            bytes = Data(text.utf8)
        case (nil, .some(let base64)):
            // base64 grows 4/3 (plus line breaks): refuse before decoding anything huge.
            guard base64.utf8.count <= (Self.maxValueBytes / 3 + 1) * 4 * 2 else {
                throw Self.tooLarge(nil)
            }
            guard DeploymentValidator.isStrictBase64(base64), let data = Data(base64Encoded: base64, options: [.ignoreUnknownCharacters]) else {
                throw SwiftletError(.invalidInput, "\"rawValue\" of secret '\(name)' is not valid base64: encode the bytes with `base64 -w0`")
            }
            guard data.count <= Self.maxValueBytes else {
                throw Self.tooLarge(data.count)
            }
            bytes = data
        }
        return Validated(name: name, namespace: namespace, value: bytes)
    }

    /// Checks that `name` can name a secret: a DNS-1123 label, like a function name, so it is
    /// always a plain file name.
    public static func validateName(_ name: String) throws(SwiftletError) {
        do {
            try FunctionName.validate(name)
        } catch {
            let shown = name.isEmpty ? "" : " '\(name.prefix(60))'"
            throw SwiftletError(
                .invalidInput,
                "invalid secret name\(shown): use 1 to \(FunctionName.maxLength) lower-case letters, digits and '-', starting and ending with a letter or digit"
            )
        }
    }

    private static func tooLarge(_ size: Int?) -> SwiftletError {
        let limit = "\(maxValueBytes) bytes (1 MiB)"
        guard let size else {
            return SwiftletError(.tooLarge, "the secret value is larger than the limit of \(limit); store a smaller value")
        }
        return SwiftletError(.tooLarge, "the secret value is \(size) bytes; the limit is \(limit); store a smaller value")
    }
}

extension Secret: CustomStringConvertible, CustomDebugStringConvertible {
    public var description: String {
        "Secret(name: \(name), namespace: \(namespace ?? "nil"), value: <redacted>)"
    }

    public var debugDescription: String { description }
}
