import Foundation

/// The host's view of a test platform's sandboxes, for attacks that aim at another instance.
extension TestPlatform {
    /// The host pid of the process of container `id` (runc's container process, runsc's
    /// sandbox process), or nil when neither runtime knows it.
    func hostPID(ofContainer id: String) async throws -> Int? {
        for runtime in [host.runtime, host.hardenedRuntime] {
            if let state = try? await runtime.state(id: id), state.pid > 0 { return Int(state.pid) }
        }
        return nil
    }

    /// The running container of `function` (one instance expected), or nil.
    func container(of function: String) async throws -> String? {
        try await containers().first { $0.hasPrefix(function + "-") }
    }
}

extension Optional {
    /// `flatMap` with an async transform.
    func asyncFlatMap<U>(_ transform: (Wrapped) async throws -> U?) async rethrows -> U? {
        guard let self else { return nil }
        return try await transform(self)
    }
}
