import Foundation
import Logging
import SwiftletCore
import SwiftletSandbox

/// Reconciling the engine with the store: what is garbage, what is adopted, and when.
extension DockerProvider {
    /// Reconciles unless done: once per run, by one caller at a time (the start, or the first
    /// call or health check after an engine that was down at start answers).
    func reconcileOnce() async throws {
        let task = state.withLockedValue { state -> Task<Void, any Error>? in
            if state.reconciled { return nil }
            if let running = state.reconciling { return running }
            let task = Task { try await self.reconcile() }
            state.reconciling = task
            return task
        }
        guard let task else { return }
        do {
            try await task.value
        } catch {
            state.withLockedValue { $0.reconciling = nil }
            throw error
        }
    }

    /// What ``reconcile()`` or `swiftlet gc` removes.
    public struct Garbage: Sendable, Equatable {
        /// `container` or `network`.
        public var kind: String
        /// The engine's id.
        public var id: String
        /// The engine's name.
        public var name: String
        /// Why it goes.
        public var reason: String
    }

    /// The objects of this platform the engine holds that the store no longer explains: containers
    /// of removed functions, stopped containers, and (when `platformStopped`) containers of an
    /// older spec; networks of functions without egress. With `platformStopped` false the running
    /// containers of current functions are kept, whatever their spec (a rolling update drains them).
    public func garbage(platformStopped: Bool) async throws -> (garbage: [Garbage], adoptable: [DockerContainerSummary]) {
        let functions = Dictionary(try await knownFunctions().map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        var garbage: [Garbage] = []
        var adoptable: [DockerContainerSummary] = []
        for container in try await engine.listContainers(labels: DockerLabels.filter(platform: platformID)) {
            let labels = container.Labels ?? [:]
            let name = container.Names?.first.map { String($0.drop(while: { $0 == "/" })) } ?? container.Id
            guard let function = labels[DockerLabels.function], let spec = functions[function] else {
                garbage.append(Garbage(kind: "container", id: container.Id, name: name, reason: "its function is not deployed"))
                continue
            }
            guard container.State == "running" else {
                if platformStopped || container.State == "exited" || container.State == "dead" {
                    garbage.append(Garbage(kind: "container", id: container.Id, name: name, reason: "not running (\(container.State ?? "unknown"))"))
                }
                continue
            }
            if labels[DockerLabels.spec] == DockerLabels.fingerprint(spec) {
                adoptable.append(container)
            } else if platformStopped {
                garbage.append(Garbage(kind: "container", id: container.Id, name: name, reason: "started from an older spec of \(function)"))
            }
        }
        for network in try await engine.listNetworks(labels: DockerLabels.filter(platform: platformID)) {
            let function = network.Labels?[DockerLabels.function] ?? ""
            if functions[function]?.networkAccess != .egress {
                garbage.append(Garbage(kind: "network", id: network.Id, name: network.Name, reason: "\(function) is not deployed with egress"))
            }
        }
        return (garbage, adoptable)
    }

    /// Removes `items` (containers first, so their networks are free).
    public func remove(_ items: [Garbage]) async throws {
        for item in items.sorted(by: { $0.kind < $1.kind }) {
            if item.kind == "container" {
                try await engine.removeContainer(item.id)
            } else {
                try await engine.removeNetwork(item.id)
            }
            logger.info("removed from the Docker engine", metadata: ["swiftlet.\(item.kind)": "\(item.name)", "swiftlet.reason": "\(item.reason)"])
        }
    }

    /// Adopts this platform's running containers of current specs (they serve again without a
    /// cold start) and removes the rest; containers not adopted within the adoption window go too.
    func reconcile() async throws {
        let (garbage, adoptable) = try await garbage(platformStopped: true)
        try await remove(garbage)
        let window = configuration.adoptionWindow
        let sweep = adoptable.isEmpty ? nil : Task { [weak self] in
            try? await Task.sleep(for: window)
            await self?.removeUnadopted()
        }
        state.withLockedValue { state in
            state.adoptable = Dictionary(grouping: adoptable) { $0.Labels?[DockerLabels.spec] ?? "" }
            state.reconciled = true
            state.sweep?.cancel()
            state.sweep = sweep
        }
        if !adoptable.isEmpty {
            logger.info("found running instances of deployed functions; adopting them", metadata: ["swiftlet.count": "\(adoptable.count)"])
        }
    }

    func removeUnadopted() async {
        let left = state.withLockedValue { state -> [DockerContainerSummary] in
            defer { state.adoptable = [:] }
            return state.adoptable.values.flatMap { $0 }
        }
        for container in left {
            logger.info("removing a running instance nothing adopted", metadata: ["swiftlet.container": "\(container.Id.prefix(12))"])
            try? await engine.removeContainer(container.Id)
        }
    }
}
