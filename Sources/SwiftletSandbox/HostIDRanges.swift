import NIOConcurrencyHelpers
import SwiftletCore

/// A block of host uids and gids an instance's user namespace maps its ids `0..<size` onto.
public struct IDMapping: Sendable, Equatable {
    /// The host id that id 0 inside the instance maps to.
    public var hostID: UInt32
    /// How many ids are mapped.
    public var size: UInt32

    /// The host id of `id` inside the instance.
    public func host(_ id: UInt32) -> UInt32 { hostID + id }
}

/// Hands out disjoint blocks of unprivileged host ids for user namespaces, one block per
/// running instance, so no two instances (and so no two functions) ever share a host uid.
///
/// Blocks of 65,536 ids start at 1,000,000,000, far above the ids of real users and of the
/// subordinate ranges `useradd` gives out (100,000 upwards). Each platform (data directory)
/// draws from its own partition of 4,096 blocks, chosen by its sandbox key, so two Swiftlets on
/// one host do not collide unless their keys share a partition. A freed block is reused only
/// after every other free block was used once.
public final class HostIDRanges: Sendable {
    /// Ids per block: a full 16-bit id space, so images' ids (nobody is 65534) all map.
    public static let blockSize: UInt32 = 65_536
    /// The first host id handed out by partition 0.
    public static let firstHostID: UInt32 = 1_000_000_000
    /// Blocks per partition.
    public static let blocksPerPartition = 4_096
    /// Partitions (platforms on one host drawing from disjoint ids).
    public static let partitions: UInt64 = 8

    private let base: UInt32
    private let state = NIOLockedValueBox(State())

    private struct State {
        var inUse: Set<Int> = []
        var next = 0
    }

    /// Creates the allocator of the platform whose sandbox key hashes to `partitionKey`.
    public init(partitionKey: UInt64) {
        let partition = UInt32(partitionKey % Self.partitions)
        base = Self.firstHostID + partition * UInt32(Self.blocksPerPartition) * Self.blockSize
    }

    /// A free block; throws when every block of this platform is in use.
    public func allocate() throws -> IDMapping {
        try state.withLockedValue { state in
            guard state.inUse.count < Self.blocksPerPartition else {
                throw SwiftletError(.unavailable, "all \(Self.blocksPerPartition) host id ranges for user namespaces are in use; stop some instances")
            }
            var slot = state.next
            while state.inUse.contains(slot) { slot = (slot + 1) % Self.blocksPerPartition }
            state.inUse.insert(slot)
            state.next = (slot + 1) % Self.blocksPerPartition
            return IDMapping(hostID: base + UInt32(slot) * Self.blockSize, size: Self.blockSize)
        }
    }

    /// Returns `mapping` to the free blocks.
    public func release(_ mapping: IDMapping) {
        guard mapping.hostID >= base else { return }
        let slot = Int((mapping.hostID - base) / Self.blockSize)
        state.withLockedValue { _ = $0.inUse.remove(slot) }
    }

    /// How many blocks are in use.
    public var inUseCount: Int { state.withLockedValue { $0.inUse.count } }
}
