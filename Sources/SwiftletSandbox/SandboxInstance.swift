import CSwiftletLinux
import Foundation
import Logging
import NIOConcurrencyHelpers
import NIOCore
import SwiftletCore

/// One running sandbox: a runc (standard) or runsc (hardened) container with its own network
/// namespace, its output captured line by line, and its exit observed (both output pipes reach
/// end of file when its pid namespace is gone).
public final class SandboxInstance: Sendable {
    /// The container id.
    public let id: String
    /// The host pid of the container's first process.
    public let pid: Int32
    /// An open descriptor of the instance's network namespace.
    public let namespaceFD: CInt
    /// The container's cgroup path below the controllers' roots.
    public let cgroupPath: String
    /// The isolation tier (which runtime runs it).
    public let isolation: IsolationTier
    /// The host ids its user namespace maps to (nil without one).
    public let idMapping: IDMapping?
    private let host: SandboxHost
    private let readySignal: ReadySignal?
    private let state: NIOLockedValueBox<State>
    /// The function and instance names its output lines are reported under.
    private let names: NIOLockedValueBox<(function: String, instance: String)>
    private let logger: Logger

    private struct State {
        var openStreams = 2
        var exitWaiters: [CheckedContinuation<Void, Never>] = []
        var recent: [String] = []
        var stopped = false
    }

    private init(spec: SandboxSpec, pid: Int32, namespaceFD: CInt, host: SandboxHost, readySignal: ReadySignal?, logger: Logger) {
        let id = spec.id
        self.id = id
        self.isolation = spec.isolation
        self.idMapping = spec.idMapping
        self.pid = pid
        self.namespaceFD = namespaceFD
        self.cgroupPath = host.cgroupParent + "/" + id
        self.host = host
        self.readySignal = readySignal
        self.names = NIOLockedValueBox((function: "", instance: id))
        self.logger = logger
        self.state = NIOLockedValueBox(State())
    }

    /// Whether the instance's process has exited.
    public var hasExited: Bool { state.withLockedValue { $0.openStreams == 0 } }

    /// The last lines the instance wrote (at most 20), for error messages.
    public var recentOutput: [String] { state.withLockedValue { $0.recent } }

    /// Creates and starts a sandbox for `spec`. On failure nothing is left behind.
    public static func start(
        spec: SandboxSpec, host: SandboxHost, dialer: NetnsDialer, group: any EventLoopGroup,
        functionName: String, sink: any InstanceLogSink, logger: Logger
    ) async throws -> SandboxInstance {
        let builder = BundleBuilder(host: host)
        let bundle: String
        var spec = spec
        if spec.readyPipe { spec.env.append("SWIFTLET_READY_FD=0") }
        if spec.mapsUsers { spec.idMapping = try host.idRanges.allocate() }
        let runtime = host.runtime(for: spec.isolation)
        do {
            bundle = try builder.writeBundle(for: spec)
        } catch {
            if let mapping = spec.idMapping { host.idRanges.release(mapping) }
            throw SwiftletError(.internal, "cannot write the sandbox bundle for \(spec.id): \(error.localizedDescription)", cause: error)
        }
        var fds: [CInt] = []
        var created = false
        do {
            if spec.isolation == .hardened {
                try await dialer.createNamespace(at: SandboxHost.namespaceFile(bundle: bundle))
            }
            if case .image(let path, let writable) = spec.root {
                var lower = path
                if let mapping = spec.idMapping {
                    // runc mounts the root from inside the user namespace, so the (0700) bundle
                    // directory must be passable by the instance's root; other host users' not.
                    guard chown(bundle, mapping.hostID, mapping.hostID) == 0 else {
                        throw SwiftletError(.internal, "cannot hand the bundle of \(spec.id) to its user namespace (errno \(errno))")
                    }
                    try IDMappedImage.mount(image: path, bundle: bundle, mapping: mapping)
                    lower = IDMappedImage.path(bundle: bundle)
                }
                if writable { try WritableLayer.mount(image: lower, bundle: bundle, rootOwner: spec.idMapping?.hostID) }
            }
            try InstanceMounts.prepare(spec: spec, bundle: bundle)
            var ready: (read: CInt, write: CInt)?
            if spec.readyPipe {
                let pipe = try makePipe()
                fds += [pipe.read, pipe.write]
                ready = pipe
            }
            let (outRead, outWrite) = try makePipe()
            fds += [outRead, outWrite]
            let (errRead, errWrite) = try makePipe()
            fds += [errRead, errWrite]
            let pidFile = bundle + "/pid"
            let clock = ContinuousClock()
            let runcStart = clock.now
            // A runner takes far longer to start than the steps below, so it is created and
            // started by one runc process; other processes wait in `created` until the output
            // readers are in place.
            let runAtOnce = spec.readyPipe
            try await runtime.create(
                id: spec.id, bundle: bundle, pidFile: pidFile, start: runAtOnce,
                stdin: ready.map { FileHandle(fileDescriptor: $0.write, closeOnDealloc: false) },
                stdout: FileHandle(fileDescriptor: outWrite, closeOnDealloc: false),
                stderr: FileHandle(fileDescriptor: errWrite, closeOnDealloc: false)
            )
            created = true
            close(outWrite)
            close(errWrite)
            fds.removeAll { $0 == outWrite || $0 == errWrite }
            if let ready {
                close(ready.write)
                fds.removeAll { $0 == ready.write }
            }

            guard let pidText = try? String(contentsOfFile: pidFile, encoding: .utf8),
                let pid = Int32(pidText.trimmingCharacters(in: .whitespacesAndNewlines))
            else {
                throw SwiftletError(.internal, "runc wrote no pid for \(spec.id)")
            }
            // runsc's pid is its sandbox process, which joined the namespace made above.
            let nsPath = spec.isolation == .hardened ? SandboxHost.namespaceFile(bundle: bundle) : "/proc/\(pid)/ns/net"
            let nsFD = open(nsPath, O_RDONLY | O_CLOEXEC)
            guard nsFD >= 0 else {
                throw SwiftletError(.internal, "cannot open the network namespace of \(spec.id) (errno \(errno))")
            }
            var signal: ReadySignal?
            if let ready {
                fds.removeAll { $0 == ready.read }
                do {
                    signal = try await ReadySignal.start(fd: ready.read, group: group)
                } catch {
                    close(nsFD)
                    throw error
                }
            }
            let instance = SandboxInstance(spec: spec, pid: pid, namespaceFD: nsFD, host: host, readySignal: signal, logger: logger)
            instance.relabel(function: functionName, instance: spec.id)
            do {
                try await dialer.loopbackUp(namespaceFD: nsFD)
                for (fd, stream) in [(outRead, LogStream.stdout), (errRead, LogStream.stderr)] {
                    fds.removeAll { $0 == fd }
                    try await PipeLineReader.start(
                        fd: fd, stream: stream, group: group,
                        onLine: { [weak instance] stream, text in
                            guard let instance else { return }
                            instance.remember(text)
                            let names = instance.names.withLockedValue { $0 }
                            sink.line(function: names.function, instance: names.instance, stream: stream, text: text)
                        },
                        onEnd: { [weak instance] in instance?.streamEnded() }
                    )
                }
                if !runAtOnce { try await runtime.start(id: spec.id) }
            } catch {
                await instance.stop()
                throw error
            }
            logger.debug(
                "sandbox started", metadata: ["swiftlet.instance": "\(spec.id)", "swiftlet.runc": "\(clock.now - runcStart)"]
            )
            return instance
        } catch {
            for fd in fds { close(fd) }
            if created { try? await runtime.delete(id: spec.id) }
            removeBundle(bundle)
            if let mapping = spec.idMapping { host.idRanges.release(mapping) }
            if let error = error as? SwiftletError { throw error }
            throw SwiftletError(.internal, "cannot start sandbox \(spec.id): \(error)", cause: error)
        }
    }

    /// Waits until the instance's process has exited.
    public func waitForExit() async {
        await withCheckedContinuation { continuation in
            let done = state.withLockedValue { state -> Bool in
                if state.openStreams == 0 { return true }
                state.exitWaiters.append(continuation)
                return false
            }
            if done { continuation.resume() }
        }
    }

    /// Kills the container, removes it, its cgroups and its bundle. Safe to call twice.
    public func stop() async {
        let first = state.withLockedValue { state -> Bool in
            defer { state.stopped = true }
            return !state.stopped
        }
        guard first else { return }
        do {
            // Killing first makes `delete` return at once instead of polling for the exit.
            let runtime = host.runtime(for: isolation)
            try? await runtime.kill(id: id, signal: "KILL")
            try await runtime.delete(id: id)
        } catch {
            logger.error("cannot remove sandbox", metadata: ["swiftlet.instance": "\(id)", "error": "\(error)"])
        }
        close(namespaceFD)
        Self.removeBundle(host.bundles + "/" + id)
        if let idMapping { host.idRanges.release(idMapping) }
    }

    /// Unmounts everything an instance mounted under its bundle directory and removes it.
    /// Safe to call for any bundle directory, also one left by a crashed platform.
    public static func removeBundle(_ bundle: String) {
        InstanceMounts.unmountAll(bundle: bundle)
        WritableLayer.unmount(bundle: bundle)
        IDMappedImage.unmount(bundle: bundle)
        let namespace = SandboxHost.namespaceFile(bundle: bundle)
        while cswiftlet_unmount(namespace) == 0 {}
        try? FileManager.default.removeItem(atPath: bundle)
    }

    /// Reports the instance's output under `function` and `instance` from now on (a warm
    /// sandbox becoming an instance of a function).
    public func relabel(function: String, instance: String) {
        names.withLockedValue { $0 = (function, instance) }
    }

    /// Waits for the runner's ready signal (see ``SandboxSpec/readyPipe``): true once it listens,
    /// false when the pipe closed without a signal, nil when the instance has no ready pipe or
    /// `timeout` passed first.
    public func waitForReadySignal(timeout: Duration) async -> Bool? {
        guard let readySignal else { return nil }
        return await readySignal.wait(timeout: timeout)
    }

    /// Binds a function's code (and its python dependencies) read-only into this warm sandbox
    /// at `/home/app/function` (and `/home/app/python`).
    public func attach(code: String, python: String?) throws {
        let bundle = host.bundles + "/" + id
        try InstanceMounts.attach(code, slot: "function", bundle: bundle)
        if let python {
            try InstanceMounts.attach(python, slot: "python", bundle: bundle)
        }
    }

    /// Writes a function's secrets into this warm sandbox's `/var/openfaas/secrets`.
    public func writeSecrets(_ secrets: [String: Data], uid: UInt32 = SandboxHost.functionUID) throws {
        let hostUID = idMapping?.host(uid) ?? uid
        try InstanceMounts.write(secrets, into: InstanceMounts.secretsDirectory(bundle: host.bundles + "/" + id), uid: hostUID, gid: hostUID)
    }

    private func remember(_ line: String) {
        state.withLockedValue { state in
            state.recent.append(String(line.prefix(500)))
            if state.recent.count > 20 { state.recent.removeFirst(state.recent.count - 20) }
        }
    }

    private func streamEnded() {
        let waiters = state.withLockedValue { state -> [CheckedContinuation<Void, Never>] in
            state.openStreams -= 1
            guard state.openStreams == 0 else { return [] }
            defer { state.exitWaiters = [] }
            return state.exitWaiters
        }
        for waiter in waiters { waiter.resume() }
    }

    private static func makePipe() throws -> (read: CInt, write: CInt) {
        var fds: [CInt] = [0, 0]
        guard cswiftlet_pipe_cloexec(&fds) == 0 else {
            throw SwiftletError(.internal, "cannot create a pipe (errno \(errno)); the host may be out of file descriptors")
        }
        return (fds[0], fds[1])
    }
}
