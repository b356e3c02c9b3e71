/// Which lines of a function's log to return.
public struct LogQuery: Sendable, Equatable {
    /// Only lines of this instance, when set.
    public var instance: String?
    /// Only the last `tail` lines (after the other filters); nil or ≤ 0 means all.
    public var tail: Int?
    /// Only lines captured at or after this time (nanoseconds since the epoch).
    public var since: Int64?

    /// Creates a query; the defaults return everything.
    public init(instance: String? = nil, tail: Int? = nil, since: Int64? = nil) {
        self.instance = instance
        self.tail = tail
        self.since = since
    }

    /// Whether `entry` passes the instance and time filters.
    public func matches(_ entry: LogEntry) -> Bool {
        if let instance, entry.instance != instance { return false }
        if let since, entry.timestamp < since { return false }
        return true
    }

    /// Applies the filters and the tail to `entries` (oldest first).
    public func apply(_ entries: [LogEntry]) -> [LogEntry] {
        let kept = entries.filter(matches)
        guard let tail, tail > 0, kept.count > tail else { return kept }
        return Array(kept.suffix(tail))
    }
}
