import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import SwiftletTestSupport
import Testing

/// `/metrics` after real calls: the OpenFaaS names and labels, Swiftlet's own metrics, and
/// `invocationCount` agreeing with `gateway_function_invocation_total`.
@Suite("Metrics", .timeLimit(.minutes(1)))
struct MetricsTests {
    static let hello = ["function_name": "hello.openfaas-fn"]

    @Test("OpenFaaS metrics by function_name (name.namespace) and code")
    func openFaaSNames() async throws {
        try await MetricsHarness.with { app in
            try await app.exercise()
            let text = try await app.scrape()
            // 3 sync 200s and the async call; the crash is a 502.
            #expect(text.sum("gateway_function_invocation_total", Self.hello.merging(["code": "200"]) { $1 }) == 4)
            #expect(text.sum("gateway_function_invocation_total", Self.hello.merging(["code": "502"]) { $1 }) == 1)
            #expect(text.types["gateway_function_invocation_total"] == "counter")
            #expect(text.types["gateway_functions_seconds"] == "histogram")
            #expect(text.sum("gateway_functions_seconds_count", Self.hello) == 5)
            #expect(!text.matching("gateway_functions_seconds_bucket", Self.hello.merging(["code": "200", "le": "+Inf"]) { $1 }).isEmpty)
            #expect(text.sum("gateway_function_invocation_started", Self.hello) == 5)
            #expect(text.sum("gateway_service_count", Self.hello) == 1)
            // Labels are exactly OpenFaaS's.
            for sample in text.matching("gateway_function_invocation_total") {
                #expect(Set(sample.labels.keys) == ["function_name", "code"])
            }
            // A call to an unknown function adds no series.
            #expect(!text.samples.contains { $0.labels["function_name"]?.contains("nobody-here") == true })
        }
    }

    @Test("Swiftlet's own metrics: cold starts, instances, cgroup usage, warm pool, queue, requests")
    func swiftletNames() async throws {
        try await MetricsHarness.with { app in
            try await app.exercise()
            // The crashed instance is replaced: two cold starts, one unexpected exit.
            let text = try await app.scrape { $0.sum("swiftlet_cold_starts_total", Self.hello) >= 2 }
            #expect(text.sum("swiftlet_cold_starts_total", Self.hello) == 2)
            #expect(text.sum("swiftlet_cold_start_seconds_count", Self.hello) == 2)
            #expect(text.sum("swiftlet_instance_exits_total", Self.hello) == 1)
            #expect(Set(text.matching("swiftlet_instances", Self.hello).compactMap { $0.labels["state"] }) == ["starting", "ready", "unhealthy", "draining"])
            #expect(text.sum("swiftlet_instances", Self.hello.merging(["state": "ready"]) { $1 }) == 1)
            let memory = text.matching("swiftlet_instance_memory_bytes", Self.hello)
            #expect(memory.count == 1 && memory.first?.value == 12_345_678 && memory.first?.labels["instance"]?.hasPrefix("hello-") == true)
            #expect(text.sum("swiftlet_instance_cpu_seconds", Self.hello) == 0.5)
            #expect(text.sum("swiftlet_warm_pool_size", ["runtime": "python3"]) == 1)
            #expect(!text.matching("swiftlet_warm_pool_sandboxes", ["runtime": "node", "state": "ready"]).isEmpty)
            #expect(text.sum("swiftlet_async_calls_total", Self.hello.merging(["outcome": "succeeded"]) { $1 }) == 1)
            #expect(text.sum("swiftlet_async_calls", ["status": "succeeded"]) == 1)
            #expect(text.sum("swiftlet_async_calls", ["status": "dead"]) == 0)
            #expect(text.sum("swiftlet_http_request_duration_seconds_count", ["route": "/function/{name}", "code": "200"]) == 3)
            #expect(text.sum("swiftlet_http_request_duration_seconds_count", ["route": "/function/{name}", "code": "404"]) == 1)
            #expect(text.sum("swiftlet_http_request_duration_seconds_count", ["route": "/system/functions", "method": "POST", "code": "202"]) == 1)
        }
    }

    @Test("invocationCount equals gateway_function_invocation_total summed over codes")
    func invocationCountFromCounters() async throws {
        try await MetricsHarness.with { app in
            try await app.exercise()
            let status = try await app.status("hello")
            let text = try await app.scrape()
            let total = text.sum("gateway_function_invocation_total", Self.hello)
            #expect(total == 5)
            #expect((status["invocationCount"] as? Double) == total || (status["invocationCount"] as? Int).map(Double.init) == total)
        }
    }

    @Test("gauges of a removed function disappear")
    func removedFunction() async throws {
        try await MetricsHarness.with { app in
            try await app.deploy("gone")
            #expect(try await app.call("gone") == .ok)
            let before = try await app.scrape()
            #expect(before.sum("gateway_service_count", ["function_name": "gone.openfaas-fn"]) == 1)
            let body = ByteBuffer(string: #"{"functionName":"gone"}"#)
            #expect(try await app.client.execute(uri: "/system/functions", method: .delete, headers: MetricsHarness.auth, body: body).status == .ok)
            let after = try await app.scrape()
            #expect(after.matching("gateway_service_count", ["function_name": "gone.openfaas-fn"]).isEmpty)
            #expect(after.matching("swiftlet_instance_memory_bytes", ["function_name": "gone.openfaas-fn"]).isEmpty)
            // Counters stay, as Prometheus expects of counters.
            #expect(after.sum("gateway_function_invocation_total", ["function_name": "gone.openfaas-fn"]) == 1)
        }
    }

    @Test("two applications in one process keep their metrics apart")
    func separateRegistries() async throws {
        try await MetricsHarness.with { first in
            try await first.deploy("hello")
            #expect(try await first.call("hello") == .ok)
            try await MetricsHarness.with { second in
                let text = try await second.scrape()
                #expect(text.matching("gateway_function_invocation_total").isEmpty)
            }
            #expect(try await first.scrape().sum("gateway_function_invocation_total", Self.hello) == 1)
        }
    }
}
