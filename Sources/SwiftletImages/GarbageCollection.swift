/// What a garbage collection removed (or, in a dry run, would remove).
public struct GarbageCollection: Sendable, Hashable {
    /// The blobs no reference uses.
    public var blobs: [Digest]
    /// The unpacked rootfs directories no reference uses (and abandoned staging directories).
    public var rootfs: [String]
    /// The bytes the removed blobs held.
    public var reclaimedBytes: Int64
    /// True if nothing was actually removed.
    public var dryRun: Bool

    /// Creates a result.
    public init(blobs: [Digest], rootfs: [String], reclaimedBytes: Int64, dryRun: Bool) {
        self.blobs = blobs
        self.rootfs = rootfs
        self.reclaimedBytes = reclaimedBytes
        self.dryRun = dryRun
    }
}
