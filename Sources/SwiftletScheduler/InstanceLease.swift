import NIOConcurrencyHelpers
import SwiftletProviders

/// The right to send one call to one instance. Ending it (or dropping it) tells the pool the
/// call is over, so least-loaded routing and draining see true in-flight counts.
public final class InstanceLease: Sendable {
    /// The instance to call.
    public let instance: any FunctionInstance
    /// The function's exec timeout when the lease was taken.
    public let timeout: Duration
    private let onEnd: @Sendable (_ failed: Bool) -> Void
    private let ended = NIOLockedValueBox(false)

    init(instance: any FunctionInstance, timeout: Duration, onEnd: @escaping @Sendable (_ failed: Bool) -> Void) {
        self.instance = instance
        self.timeout = timeout
        self.onEnd = onEnd
    }

    /// Ends the call; `failed` marks a connection failure, which makes the pool check the instance.
    public func end(failed: Bool = false) {
        let first = ended.withLockedValue { ended -> Bool in
            defer { ended = true }
            return !ended
        }
        if first { onEnd(failed) }
    }

    deinit {
        end()
    }
}
