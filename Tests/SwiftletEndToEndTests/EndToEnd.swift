import Testing

/// Every end-to-end suite runs inside this one, one test at a time: they start real sandboxes
/// on a small machine, and running them in parallel would only measure contention.
@Suite("End to end", .serialized)
enum EndToEnd {}
