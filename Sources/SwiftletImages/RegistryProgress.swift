/// How far the download of one layer has come; a pull reports these as bytes arrive.
///
/// ```swift
/// try await client.pull(reference: "127.0.0.1:5000/hello:1.0", into: layout) { progress in
///     print("\(progress.digest.prefix(19)): \(progress.completed)/\(progress.total) \(progress.status)")
/// }
/// ```
public struct RegistryProgress: Sendable, Hashable {
    /// Where a layer stands.
    public enum Status: String, Sendable, Hashable {
        /// The layer was already in the store; nothing was downloaded.
        case present
        /// Bytes are arriving (`completed` counts bytes resumed from an earlier pull too).
        case downloading
        /// The layer is downloaded, its size and sha256 checked, and it is in the store.
        case verified
    }

    /// The layer digest (`sha256:<hex>`).
    public let digest: String
    /// Bytes of the layer on disk so far.
    public let completed: Int64
    /// The layer size from the manifest.
    public let total: Int64
    /// Where the layer stands.
    public let status: Status

    /// Creates a progress value.
    public init(digest: String, completed: Int64, total: Int64, status: Status) {
        self.digest = digest
        self.completed = completed
        self.total = total
        self.status = status
    }
}
