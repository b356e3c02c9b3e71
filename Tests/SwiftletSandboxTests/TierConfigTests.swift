import Foundation
import SwiftletCore
import Testing

@testable import SwiftletSandbox

/// The config differences of the hardened tier and of user namespaces, and the host id blocks.
@Suite struct TierConfigTests {
    private let host = SandboxHost(dataDirectory: "/tmp/swiftlet-tier-\(UUID().uuidString)", runBase: "/tmp/swiftlet-tier-run")

    private func spec(_ tier: IsolationTier = .standard, mapping: IDMapping? = nil) -> SandboxSpec {
        var spec = SandboxSpec(id: "f-1", args: ["/usr/bin/python3"], env: [])
        spec.isolation = tier
        spec.idMapping = mapping
        return spec
    }

    @Test func standardCreatesItsNetworkNamespaceAndNoUserNamespace() {
        let config = BundleBuilder(host: host).config(for: spec())
        let network = config.linux.namespaces.first { $0.type == "network" }
        #expect(network != nil && network?.path == nil)
        #expect(!config.linux.namespaces.contains { $0.type == "user" })
        #expect(config.linux.uidMappings == nil && config.linux.gidMappings == nil)
    }

    @Test func hardenedJoinsTheNamespaceMadeInItsBundle() {
        let config = BundleBuilder(host: host).config(for: spec(.hardened))
        let network = config.linux.namespaces.first { $0.type == "network" }
        #expect(network?.path == host.bundles + "/f-1/netns")
        #expect(Set(config.linux.namespaces.map(\.type)) == ["pid", "ipc", "uts", "mount", "network", "cgroup"])
        #expect(config.process.capabilities.bounding.isEmpty && config.process.noNewPrivileges)
    }

    @Test func hardenedGetsRoomForTheSentrysHostProcessesInItsPidsLimit() {
        #expect(BundleBuilder(host: host).config(for: spec()).linux.resources.pids?.limit == 256)
        #expect(BundleBuilder(host: host).config(for: spec(.hardened)).linux.resources.pids?.limit == Int64(1152))
    }

    @Test func mappedUsersGetAUserNamespaceWithOneBlock() throws {
        let mapping = IDMapping(hostID: 1_000_065_536, size: 65_536)
        let config = BundleBuilder(host: host).config(for: spec(mapping: mapping))
        #expect(config.linux.namespaces.contains { $0.type == "user" && $0.path == nil })
        let uid = try #require(config.linux.uidMappings?.first)
        #expect(uid.containerID == 0 && uid.hostID == 1_000_065_536 && uid.size == 65_536)
        #expect(config.linux.gidMappings?.count == 1 && config.linux.uidMappings?.count == 1)
        // The process keeps its id inside; on the host it is the block's.
        var mapped = spec(mapping: mapping)
        mapped.uid = 10001
        #expect(mapped.hostUID == 1_000_075_537 && mapped.hostGID == 1_000_075_537)
        #expect(spec().hostUID == SandboxHost.functionUID)
    }

    @Test func hardenedAppliesTheSameFilterButLetsGVisorAnswerClone3() throws {
        let standard = try #require(BundleBuilder(host: host).config(for: spec()).linux.seccomp)
        let hardened = try #require(BundleBuilder(host: host).config(for: spec(.hardened)).linux.seccomp)
        func rules(_ filter: OCISpec.Seccomp, _ name: String) -> [OCISpec.SyscallRule] { filter.syscalls.filter { $0.names.contains(name) } }
        #expect(rules(standard, "clone3").map(\.action) == ["SCMP_ACT_ERRNO"])
        #expect(rules(hardened, "clone3").map(\.action) == ["SCMP_ACT_ALLOW"])
        for name in ["unshare", "ptrace", "mount", "mknod", "setns", "bpf"] {
            #expect(rules(hardened, name).map(\.action) == ["SCMP_ACT_ERRNO"], "\(name)")
        }
        #expect(rules(hardened, "io_uring_setup").first?.errnoRet == 38)
        #expect(hardened.defaultAction == "SCMP_ACT_ERRNO" && hardened.defaultErrnoRet == 1)
    }

    @Test func aMappedImageRootIsTheIdmappedViewInTheBundle() {
        var image = spec(mapping: IDMapping(hostID: 1_000_065_536, size: 65_536))
        image.root = .image(path: "/var/lib/swiftlet/images/rootfs/abc", writable: false)
        #expect(BundleBuilder(host: host).config(for: image).root.path == host.bundles + "/f-1/image")
        #expect(BundleBuilder(host: host).config(for: image).root.readonly)
        image.root = .image(path: "/var/lib/swiftlet/images/rootfs/abc", writable: true)
        #expect(BundleBuilder(host: host).config(for: image).root.path == host.bundles + "/f-1/rootfs")
        image.idMapping = nil
        image.root = .image(path: "/var/lib/swiftlet/images/rootfs/abc", writable: false)
        #expect(BundleBuilder(host: host).config(for: image).root.path == "/var/lib/swiftlet/images/rootfs/abc")
    }

    @Test func secretsAreBoundNoexecSoAUserNamespaceCanMountThem() throws {
        var secretSpec = spec()
        secretSpec.secrets = ["a": Data("b".utf8)]
        let config = BundleBuilder(host: host).config(for: secretSpec)
        let secrets = try #require(config.mounts.first { $0.destination == "/var/openfaas/secrets" })
        #expect(Set(secrets.options).isSuperset(of: ["ro", "nosuid", "nodev", "noexec"]))
    }

    @Test func theTwoRuntimesKeepSeparateStateAndRunscServesOnTheHostNetworkOfItsNamespace() {
        #expect(host.runtime(for: .standard).runtimePath == "/usr/bin/runc")
        #expect(host.runtime(for: .hardened).runtimePath == "/usr/bin/runsc")
        #expect(host.runtime(for: .hardened).globalArguments == ["--network=host", "--oci-seccomp"])
        #expect(host.runtime(for: .standard).globalArguments.isEmpty)
        #expect(host.runtime.stateRoot != host.hardenedRuntime.stateRoot)
        #expect(host.hardenedRuntime.stateRoot.hasPrefix(host.runDirectory + "/"))
    }
}

/// Blocks of host ids for user namespaces: disjoint while in use, reused last, bounded.
@Suite struct HostIDRangesTests {
    @Test func blocksInUseNeverOverlapAndStayAboveRealUsers() throws {
        let ranges = HostIDRanges(partitionKey: 3)
        var seen: [IDMapping] = []
        for _ in 0..<200 { seen.append(try ranges.allocate()) }
        let starts = Set(seen.map(\.hostID))
        #expect(starts.count == 200)
        for mapping in seen {
            #expect(mapping.size == 65_536)
            #expect(mapping.hostID >= 1_000_000_000)
            #expect(UInt64(mapping.hostID) + UInt64(mapping.size) <= UInt64(UInt32.max))
            #expect((mapping.hostID - 1_000_000_000) % 65_536 == 0)
        }
        #expect(ranges.inUseCount == 200)
    }

    @Test func aFreedBlockIsReusedOnlyAfterTheOthers() throws {
        let ranges = HostIDRanges(partitionKey: 0)
        let first = try ranges.allocate()
        ranges.release(first)
        let second = try ranges.allocate()
        #expect(second != first, "a freed block waits for its turn")
        #expect(ranges.inUseCount == 1)
    }

    @Test func exhaustionIsAClearError() throws {
        let ranges = HostIDRanges(partitionKey: 1)
        for _ in 0..<HostIDRanges.blocksPerPartition { _ = try ranges.allocate() }
        let error = #expect(throws: SwiftletError.self) { try ranges.allocate() }
        #expect(error?.code == .unavailable)
        #expect(error?.message.contains("stop some instances") == true)
    }

    @Test func platformsOnOneHostDrawFromDisjointPartitions() throws {
        let a = try HostIDRanges(partitionKey: 0).allocate()
        let b = try HostIDRanges(partitionKey: 1).allocate()
        let span = UInt32(HostIDRanges.blocksPerPartition) * HostIDRanges.blockSize
        #expect(b.hostID - a.hostID == span)
    }

    @Test func concurrentAllocationsAreDisjoint() async throws {
        let ranges = HostIDRanges(partitionKey: 5)
        let starts = try await withThrowingTaskGroup(of: UInt32.self) { group in
            for _ in 0..<64 { group.addTask { try ranges.allocate().hostID } }
            return try await group.reduce(into: Set<UInt32>()) { $0.insert($1) }
        }
        #expect(starts.count == 64)
    }
}
