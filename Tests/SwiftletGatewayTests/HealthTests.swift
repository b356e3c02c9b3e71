import Foundation
import HTTPTypes
import HummingbirdTesting
import SwiftletCore
import SwiftletGateway
import SwiftletScheduler
import SwiftletStore
import Testing

/// `/healthz` and `/system/info` follow the provider: a provider that cannot start instances (a
/// Docker engine that went away) makes `/healthz` 503 with its reason, and back when it recovers;
/// a removed function is reported to the provider.
@Suite("Health")
struct HealthTests {
    @Test("healthz is 200, then 503 with the provider's reason, then 200 again; info names the provider")
    func healthFollowsProvider() async throws {
        try await SecretsAPITests.withAPI { api in
            var answer = try await api.send(.get, "/healthz", auth: false)
            #expect(answer.status == .ok && SecretsAPITests.text(answer) == "OK")
            api.provider.state.withLockedValue {
                $0.problem = SwiftletError(.unavailable, "instances cannot start: the Docker engine at unix:///x did not answer")
            }
            answer = try await api.send(.get, "/healthz", auth: false)
            #expect(answer.status == .serviceUnavailable)
            #expect(SecretsAPITests.text(answer).contains("the Docker engine at unix:///x did not answer"), "\(SecretsAPITests.text(answer))")
            // Concurrent probes all get the same answer.
            try await withThrowingTaskGroup(of: HTTPResponse.Status.self) { group in
                for _ in 0..<20 { group.addTask { try await api.send(.get, "/healthz", auth: false).status } }
                for try await status in group { #expect(status == .serviceUnavailable) }
            }
            api.provider.state.withLockedValue { $0.problem = nil }
            answer = try await api.send(.get, "/healthz", auth: false)
            #expect(answer.status == .ok)
            let info = try await api.send(.get, "/system/info")
            #expect(SecretsAPITests.text(info).contains(#""orchestration":"fake""#), "\(SecretsAPITests.text(info))")
        }
    }

    @Test("removing a function tells the provider, once")
    func removalReachesProvider() async throws {
        try await SecretsAPITests.withAPI { api in
            #expect(try await api.deploy("gone", secrets: []).status == .accepted)
            let removed = try await api.send(.delete, "/system/functions", json: ["functionName": "gone"])
            #expect(removed.status == .ok || removed.status == .accepted)
            let again = try await api.send(.delete, "/system/functions", json: ["functionName": "gone"])
            #expect(again.status == .notFound)
            #expect(api.provider.state.withLockedValue { $0.removedFunctions } == ["gone"])
        }
    }
}
