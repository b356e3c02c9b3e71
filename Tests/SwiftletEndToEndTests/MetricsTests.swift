import AsyncHTTPClient
import Foundation
import NIOCore
import SwiftletTestSupport
import Testing

extension EndToEnd {
    /// `/metrics` of a real platform after real calls in runc sandboxes, and the binary's metrics port.
    @Suite("End to end: metrics")
    struct MetricsTests {
        static let metered = ["function_name": "metered.openfaas-fn"]

        @Test(
            "calls show up under the OpenFaaS names; instance memory and CPU come from the cgroup (native) or the engine's stats (docker)",
            arguments: ProviderKind.allCases
        )
        func afterRealCalls(provider: ProviderKind) async throws {
            try await TestPlatform.with(provider: provider) { platform in
                try await platform.deployOK("metered", runtime: "python3", source: Handlers.pythonEcho)
                for _ in 0..<3 {
                    #expect(try await platform.call("metered").status == 200)
                }
                #expect(try await platform.call("metered", headers: [("X-Want-Status", "500")]).status == 500)
                // Unauthenticated, as OpenFaaS serves it.
                let answer = try await platform.request(.GET, "/metrics")
                #expect(answer.status == 200)
                let text = PrometheusText(answer.text)
                #expect(text.sum("gateway_function_invocation_total", Self.metered.merging(["code": "200"]) { $1 }) == 3)
                #expect(text.sum("gateway_function_invocation_total", Self.metered.merging(["code": "500"]) { $1 }) == 1)
                #expect(text.sum("gateway_functions_seconds_count", Self.metered) == 4)
                #expect(text.sum("gateway_function_invocation_started", Self.metered) == 4)
                #expect(text.sum("gateway_service_count", Self.metered) >= 1)
                #expect(text.sum("swiftlet_cold_starts_total", Self.metered) >= 1)
                #expect(text.sum("swiftlet_cold_start_seconds_sum", Self.metered) > 0)
                #expect(text.sum("swiftlet_instances", Self.metered.merging(["state": "ready"]) { $1 }) >= 1)
                // A python runner uses megabytes and has run for some CPU time (the engine's stats
                // are read in the background: the first reading may take a moment).
                var usage = text
                let measured = try await eventually(timeout: .seconds(15)) {
                    usage = PrometheusText(try await platform.request(.GET, "/metrics").text)
                    return usage.sum("swiftlet_instance_memory_bytes", Self.metered) > 1_000_000 && usage.sum("swiftlet_instance_cpu_seconds", Self.metered) > 0
                }
                #expect(measured, "\(provider): memory \(usage.sum("swiftlet_instance_memory_bytes", Self.metered)), cpu \(usage.sum("swiftlet_instance_cpu_seconds", Self.metered))")
                #expect(text.sum("swiftlet_http_request_duration_seconds_count", ["route": "/function/{name}"]) == 4)

                let status = try await platform.request(.GET, "/system/function/metered", auth: true).json()
                #expect((status["invocationCount"] as? NSNumber)?.doubleValue == text.sum("gateway_function_invocation_total", Self.metered))
            }
        }

        @Test("swiftlet up refuses a bad --metrics-port", arguments: [["--metrics-port", "70000"], ["--metrics-port", "-1"], ["--metrics-port", "lots"], ["--metrics-port", "9000", "--port", "9000"]])
        func badMetricsPort(_ arguments: [String]) async throws {
            let result = try await SwiftletBinary.run(["up"] + arguments + ["--data-dir", "/nonexistent/swiftlet-never-created"])
            #expect(result.status != 0)
            #expect(result.stderr.contains("--metrics-port") || result.stderr.contains("metrics-port"), "\(result.stderr)")
            #expect(!FileManager.default.fileExists(atPath: "/nonexistent/swiftlet-never-created"))
        }

        @Test("swiftlet up stops with a clear error when its metrics port is taken")
        func metricsPortInUse() async throws {
            let directory = TestPlatform.makeTemporaryDirectory()
            defer { try? FileManager.default.removeItem(atPath: directory) }
            // A listener of the test's own takes the port.
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            defer { close(fd) }
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_addr.s_addr = inet_addr("127.0.0.1")
            var length = socklen_t(MemoryLayout<sockaddr_in>.size)
            let listening = withUnsafeMutablePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0 }
            }
            try #require(listening && listen(fd, 1) == 0)
            let taken = Int(UInt16(bigEndian: address.sin_port))
            let (process, _, log) = try SwiftletBinary.startUp(dataDirectory: directory, extra: ["--metrics-port", String(taken), "--no-warm-pool"])
            defer {
                if process.isRunning { kill(process.processIdentifier, SIGKILL) }
            }
            #expect(try await eventually(timeout: .seconds(30)) { !process.isRunning }, "swiftlet up kept running with its metrics port taken")
            await SwiftletBinary.waitForExit(process)
            #expect(process.terminationStatus != 0)
            let output = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
            #expect(output.contains("already in use") && output.contains(":\(taken) (metrics)"), "\(output.suffix(600))")
        }

        @Test("swiftlet up serves /metrics on its metrics port without credentials")
        func metricsPort() async throws {
            let directory = TestPlatform.makeTemporaryDirectory()
            defer { try? FileManager.default.removeItem(atPath: directory) }
            let metricsPort = try SwiftletBinary.freePort()
            let (process, port, log) = try SwiftletBinary.startUp(dataDirectory: directory, extra: ["--metrics-port", String(metricsPort), "--no-warm-pool"])
            defer {
                if process.isRunning { kill(process.processIdentifier, SIGTERM) }
            }
            #expect(try await eventually { (try? await HTTPClient.shared.get(url: "http://127.0.0.1:\(port)/healthz").get().status.code) == 200 })
            let response = try await HTTPClient.shared.get(url: "http://127.0.0.1:\(metricsPort)/metrics").get()
            #expect(response.status.code == 200)
            let body = response.body.map { String(buffer: $0) } ?? ""
            #expect(body.contains("swiftlet_async_calls{status=\"queued\"}"), "\(body.prefix(500))")
            // The metrics port serves nothing else.
            #expect(try await HTTPClient.shared.get(url: "http://127.0.0.1:\(metricsPort)/system/functions").get().status.code == 404)
            let output = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
            #expect(output.contains("metrics: http://127.0.0.1:\(metricsPort)/metrics"), "\(output)")
            kill(process.processIdentifier, SIGTERM)
            await SwiftletBinary.waitForExit(process)
        }
    }
}
