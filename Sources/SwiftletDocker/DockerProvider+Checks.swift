import Foundation
import SwiftletCore
import SwiftletProviders
import SwiftletSandbox

/// What the Docker provider checks and prepares on demand: the runtime image, the hardened
/// runtime, egress networks, and the users of images.
extension DockerProvider {
    /// The runtime image of code functions, imported on first use.
    /// Concurrent first starts share one build: they would otherwise assemble the image in the
    /// same staging directory at once and import a broken one.
    func runtimeImage() async throws -> String {
        let task = state.withLockedValue { state -> Task<String, any Error> in
            if let running = state.runtimeImage { return running }
            let task = Task { [host, engine, logger] in try await RuntimeImage(host: host).ensure(in: engine, logger: logger) }
            state.runtimeImage = task
            return task
        }
        do {
            return try await task.value
        } catch {
            // A failed build (engine away) is tried again by the next start.
            state.withLockedValue { if $0.runtimeImage == task { $0.runtimeImage = nil } }
            throw error
        }
    }

    /// The engine's runtime for the hardened tier: `runsc`, registered with `--network=host` so
    /// gVisor serves on the container's own (loopback-only) namespace, the gateway's data path.
    func hardenedRuntime() async throws -> String {
        if let runtime = state.withLockedValue({ $0.hardenedRuntime }) { return runtime }
        let runtime = try Self.hardenedRuntime(in: try await engine.info(), endpoint: engine.endpoint)
        state.withLockedValue { $0.hardenedRuntime = runtime }
        return runtime
    }

    /// The runtime of the hardened tier in an engine that describes itself as `info`: `runsc`,
    /// registered with `--network=host`; anything else is refused with what to change.
    static func hardenedRuntime(in info: DockerInfo, endpoint: DockerEndpoint) throws -> String {
        guard let runsc = info.Runtimes?["runsc"] else {
            throw SwiftletError(
                .unsupported,
                "isolation 'hardened' needs gVisor, and the Docker engine at \(endpoint) has no runsc runtime: install runsc and add {\"runtimes\": {\"runsc\": {\"path\": \"/usr/bin/runsc\", \"runtimeArgs\": [\"--network=host\"]}}} to /etc/docker/daemon.json, then restart dockerd"
            )
        }
        guard runsc.runtimeArgs?.contains("--network=host") == true else {
            throw SwiftletError(
                .unsupported,
                "the Docker engine's runsc runtime lacks \"runtimeArgs\": [\"--network=host\"]; Swiftlet reaches instances on the loopback of their own namespace, which gVisor's own network stack hides: add it in /etc/docker/daemon.json and restart dockerd"
            )
        }
        return "runsc"
    }

    /// The name of `function`'s own egress network, created when missing.
    func egressNetwork(for function: String) async throws -> String {
        let name = "swiftlet-\(platformID)-\(function)"
        let existing = try await engine.listNetworks(labels: DockerLabels.filter(platform: platformID) + ["\(DockerLabels.function)=\(function)"])
        if existing.contains(where: { $0.Name == name }) { return name }
        do {
            _ = try await engine.createNetwork(name: name, labels: DockerLabels.network(platform: platformID, function: function))
        } catch let error as SwiftletError where error.code == .conflict {
            // Created meanwhile by another instance start.
        }
        return name
    }

    /// The real uid of host process `pid`, from `/proc/<pid>/status` (nil when unreadable).
    static func realUID(pid: Int32) -> UInt32? {
        guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
            let line = status.split(separator: "\n").first(where: { $0.hasPrefix("Uid:") })
        else { return nil }
        return line.split(whereSeparator: { $0 == "\t" || $0 == " " }).dropFirst().first.flatMap { UInt32($0) }
    }

    /// Checks that `image` exists, has something to run and a user that is not root; returns the
    /// user and its numeric ids when it names them.
    @discardableResult
    static func checkImage(_ image: DockerImage?, spec: FunctionSpec, reference: String) throws -> (String, (uid: UInt32?, gid: UInt32?)) {
        guard let image else { throw SwiftletError(.notFound, "the Docker engine has no image \(reference) and could not pull it") }
        guard !(image.Config?.Entrypoint ?? []).isEmpty || !(image.Config?.Cmd ?? []).isEmpty else {
            throw SwiftletError(.invalidInput, "image \(reference) has no Entrypoint or Cmd; Swiftlet cannot tell what to run")
        }
        let user = spec.labels[ImageInstancePlan.userLabel] ?? image.Config?.User ?? ""
        return (user, try checkUser(user, reference: reference))
    }

    /// Refuses an image user that is root (functions never run as root) and returns the numeric
    /// uid and gid when the user names them.
    static func checkUser(_ user: String, reference: String) throws -> (uid: UInt32?, gid: UInt32?) {
        // Empty pieces count: ":1000" is the engine's default user (root) with gid 1000.
        let parts = user.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
        let name = parts.first ?? ""
        let uid = UInt32(name)
        // "00", "+0" and "000:0" are uid 0 too.
        if name.isEmpty || name == "root" || uid == 0 {
            throw SwiftletError(
                .invalidInput,
                "image \(reference) runs as root; Swiftlet never runs functions as root: add `USER app` (or a uid) to the image, or set the label \(ImageInstancePlan.userLabel)=<uid> to run it as that uid"
            )
        }
        let gid = parts.count == 2 && !parts[1].isEmpty ? UInt32(parts[1]) : uid
        return (uid, gid)
    }
}

extension Optional {
    /// `flatMap` with an async transform.
    func asyncFlatMap<T>(_ transform: (Wrapped) async throws -> T?) async rethrows -> T? {
        guard let self else { return nil }
        return try await transform(self)
    }
}
