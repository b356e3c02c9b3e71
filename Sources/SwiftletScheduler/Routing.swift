import NIOConcurrencyHelpers
import SwiftletProviders

/// The part of a ``FunctionPool`` that every call touches, behind one lock, so that taking and
/// returning a lease needs no actor hop: which instances take calls, how many calls each holds,
/// how many calls wait, and the load the autoscaler reads.
///
/// The pool's actor changes membership and health here; calls take and return leases directly.
final class Routing: @unchecked Sendable {
    /// One instance as routing sees it. `inflight`, `draining` and `healthy` are guarded by the
    /// routing lock; `healthFailures` and `checking` belong to the pool's actor.
    final class Entry: @unchecked Sendable {
        let instance: any FunctionInstance
        let generation: Int
        fileprivate(set) var inflight = 0
        fileprivate(set) var draining = false
        fileprivate(set) var healthy = true
        var healthFailures = 0
        var checking = false

        init(instance: any FunctionInstance, generation: Int) {
            self.instance = instance
            self.generation = generation
        }
    }

    /// What the autoscaler reads once per tick.
    struct Load {
        /// Time-weighted calls in flight and waiting since the last tick (call-seconds).
        var area: Double
        /// Calls started since the last tick.
        var calls: Int
        /// Calls in flight and waiting now.
        var busy: Int
        /// When the last call started or ended.
        var lastActivity: ContinuousClock.Instant
    }

    private let lock = NIOLock()
    private var entries: [Entry] = []
    private var waiting = 0
    private var maxInflight: Int?
    private var timeout: Duration
    private var invocations = 0
    private var callsSinceTick = 0
    private var area: Double = 0
    private var lastChange: ContinuousClock.Instant
    private var lastActivity: ContinuousClock.Instant
    private var busy = 0

    init(maxInflight: Int?, execTimeout: Duration) {
        self.maxInflight = maxInflight
        self.timeout = execTimeout
        let now = ContinuousClock.now
        lastChange = now
        lastActivity = now
    }

    // MARK: Calls (any thread)

    /// Takes a call slot on the healthy instance with the fewest calls in flight, below the cap.
    /// With `queued`, the caller is a waiting call being served (it stops counting as waiting);
    /// otherwise nothing is taken while calls wait, so they are served first.
    func lease(queued: Bool = false) -> Entry? {
        lock.withLock {
            guard queued || waiting == 0 else { return nil }
            let cap = maxInflight ?? Int.max
            var best: Entry?
            for entry in entries where !entry.draining && entry.healthy && entry.inflight < cap && !entry.instance.hasExited {
                if best == nil || entry.inflight < best!.inflight { best = entry }
            }
            guard let best else { return nil }
            let now = ContinuousClock.now
            account(now)
            best.inflight += 1
            if queued { waiting -= 1 } else { busy += 1 }
            invocations += 1
            callsSinceTick += 1
            lastActivity = now
            return best
        }
    }

    /// Returns a call slot. True when the pool's actor has work because of it: the instance
    /// drains and is now idle, or calls wait for a slot.
    func release(_ entry: Entry) -> Bool {
        lock.withLock {
            let now = ContinuousClock.now
            account(now)
            entry.inflight -= 1
            busy -= 1
            lastActivity = now
            return (entry.draining && entry.inflight == 0) || waiting > 0
        }
    }

    /// Registers a waiting call unless a slot is free now (then that slot is returned instead).
    func leaseOrWait() -> Entry? {
        if let entry = lease() { return entry }
        return lock.withLock {
            account(ContinuousClock.now)
            waiting += 1
            busy += 1
            return nil
        }
    }

    /// Forgets `count` waiting calls (expired or failed).
    func stopWaiting(_ count: Int) {
        guard count > 0 else { return }
        lock.withLock {
            account(ContinuousClock.now)
            waiting -= count
            busy -= count
        }
    }

    // MARK: Membership and state (the pool's actor)

    /// Every instance, draining ones included.
    var all: [Entry] { lock.withLock { entries } }

    /// Calls in flight on `entry`.
    func inflight(_ entry: Entry) -> Int { lock.withLock { entry.inflight } }

    /// Whether `entry` drains.
    func isDraining(_ entry: Entry) -> Bool { lock.withLock { entry.draining } }

    /// Adds an instance that takes calls.
    func add(_ entry: Entry) { lock.withLock { entries.append(entry) } }

    /// Removes an instance.
    func remove(_ entry: Entry) { lock.withLock { entries.removeAll { $0 === entry } } }

    /// Removes every instance and returns them.
    func removeAll() -> [Entry] {
        lock.withLock {
            defer { entries = [] }
            return entries
        }
    }

    /// Stops routing to `entry`; true when it holds no call (it can stop now).
    func drain(_ entry: Entry) -> Bool {
        lock.withLock {
            entry.draining = true
            return entry.inflight == 0
        }
    }

    /// Sets whether `entry` passes its health check.
    func setHealthy(_ entry: Entry, _ healthy: Bool) { lock.withLock { entry.healthy = healthy } }

    /// The function's exec timeout, for new leases.
    var execTimeout: Duration { lock.withLock { timeout } }

    /// Sets the exec timeout for new leases.
    func setExecTimeout(_ value: Duration) { lock.withLock { timeout = value } }

    /// Sets the per-instance cap (`max_inflight`).
    func setMaxInflight(_ value: Int?) { lock.withLock { maxInflight = value } }

    /// Instances that take calls now.
    var available: Int {
        lock.withLock { entries.filter { !$0.draining && $0.healthy && !$0.instance.hasExited }.count }
    }

    /// Calls served since the pool started.
    var invocationCount: Int { lock.withLock { invocations } }

    /// The load since the last call of this method.
    func takeLoad() -> Load {
        lock.withLock {
            account(ContinuousClock.now)
            defer {
                area = 0
                callsSinceTick = 0
            }
            return Load(area: area, calls: callsSinceTick, busy: busy, lastActivity: lastActivity)
        }
    }

    /// Adds the time since the last change at the current level of calls (lock held).
    private func account(_ now: ContinuousClock.Instant) {
        area += Double(busy) * (now - lastChange).inSeconds
        lastChange = now
    }
}
