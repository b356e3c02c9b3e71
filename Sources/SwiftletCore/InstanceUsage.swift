/// The memory and CPU an instance has used (from its cgroup, or from an engine's stats).
public struct InstanceUsage: Sendable, Equatable {
    /// Memory in use, in bytes (page cache included, as the kernel counts it against the limit).
    public var memoryBytes: Int64
    /// CPU time used so far, in seconds.
    public var cpuSeconds: Double

    /// Creates a usage.
    public init(memoryBytes: Int64, cpuSeconds: Double) {
        self.memoryBytes = memoryBytes
        self.cpuSeconds = cpuSeconds
    }
}
