import Foundation
import HTTPTypes
import Synchronization
import SwiftletTestSupport
import Testing
import Yams

/// `docs/monitoring/`: the Grafana dashboard and the alert rules use only metrics Swiftlet
/// exports, taken from a real registry after the application served calls of every kind.
@Suite("Monitoring docs", .timeLimit(.minutes(1)))
struct MonitoringDocsTests {
    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../docs/monitoring").standardized

    /// Every sample name a registry holds after sync and async calls, a crash, a failed start
    /// and a callback.
    static func exportedNames() async throws -> Set<String> {
        let names = Mutex<Set<String>>([])
        try await MetricsHarness.with { app in
            try await app.exercise()
            app.provider.state.withLockedValue { $0.failStarts = 1 }
            try await app.deploy("flaky")
            let text = try await app.scrape {
                $0.sum("swiftlet_instance_start_failures_total") >= 1 && $0.sum("swiftlet_async_callbacks_total") >= 1
                    && $0.sum("swiftlet_instances", ["function_name": "flaky.openfaas-fn", "state": "ready"]) == 1
            }
            names.withLock { $0 = text.names }
        }
        return names.withLock { $0 }
    }

    /// The metric names a PromQL expression reads: identifiers that are not functions,
    /// keywords, label names (in `{…}` or `by (…)`), strings or range durations. Grafana's
    /// `label_values(metric, label)` counts as its metric.
    static func metricNames(in expression: String) -> Set<String> {
        var text = expression.replacingOccurrences(of: #"label_values\(([^,]+),[^)]*\)"#, with: "$1", options: .regularExpression)
        for pattern in [#""(?:[^"\\]|\\.)*""#, #"\{[^}]*\}"#, #"\[[^\]]*\]"#, #"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)"#] {
            text = text.replacingOccurrences(of: pattern, with: " ", options: .regularExpression)
        }
        let keywords: Set<String> = ["by", "without", "on", "ignoring", "group_left", "group_right", "and", "or", "unless", "bool", "offset", "inf", "nan"]
        let regex = try! NSRegularExpression(pattern: #"[A-Za-z_:][A-Za-z0-9_:]*(\s*\()?"#)
        var names: Set<String> = []
        for match in regex.matches(in: text, range: NSRange(text.startIndex..., in: text)) {
            guard match.range(at: 1).location == NSNotFound, let range = Range(match.range, in: text) else { continue }
            let name = String(text[range])
            if keywords.contains(name.lowercased()) { continue }
            // `$__rate_interval` and `$function` are Grafana variables.
            if range.lowerBound > text.startIndex, text[text.index(before: range.lowerBound)] == "$" { continue }
            names.insert(name)
        }
        return names
    }

    /// Every string under a key named `key`, anywhere in a JSON value.
    static func strings(forKey key: String, in value: Any) -> [String] {
        switch value {
        case let object as [String: Any]:
            return object.flatMap { entry -> [String] in
                if entry.key == key, let text = entry.value as? String { return [text] }
                return strings(forKey: key, in: entry.value)
            }
        case let array as [Any]: return array.flatMap { strings(forKey: key, in: $0) }
        default: return []
        }
    }

    @Test("the expression parser finds metric names and nothing else")
    func parser() {
        let names = Self.metricNames(
            in: #"histogram_quantile(0.95, sum by (function_name, le) (rate(gateway_functions_seconds_bucket{function_name=~"$function", code="200"}[$__rate_interval]))) > 2 and on (function_name) up"#
        )
        #expect(names == ["gateway_functions_seconds_bucket", "up"])
        #expect(Self.metricNames(in: "label_values(gateway_service_count, function_name)") == ["gateway_service_count"])
    }

    @Test("the dashboard and the alert rules use only exported metrics")
    func onlyExportedMetrics() async throws {
        let exported = try await Self.exportedNames()
        #expect(exported.contains("gateway_function_invocation_total"))

        let dashboardData = try Data(contentsOf: Self.directory.appendingPathComponent("grafana-dashboard.json"))
        let dashboard = try #require(try JSONSerialization.jsonObject(with: dashboardData) as? [String: Any])
        let panels = try #require(dashboard["panels"] as? [[String: Any]])
        #expect(panels.count >= 10)
        var dashboardExpressions = Self.strings(forKey: "expr", in: panels)
        dashboardExpressions += Self.strings(forKey: "definition", in: dashboard["templating"] ?? [:])
        #expect(dashboardExpressions.count >= panels.count)

        let rulesText = try String(contentsOf: Self.directory.appendingPathComponent("swiftlet-alerts.yml"), encoding: .utf8)
        let rules = try #require(try Yams.load(yaml: rulesText) as? [String: Any])
        let groups = try #require(rules["groups"] as? [[String: Any]])
        let alerts = groups.flatMap { ($0["rules"] as? [[String: Any]]) ?? [] }
        let alertNames = Set(alerts.compactMap { $0["alert"] as? String })
        for wanted in ["SwiftletFunctionErrorRate", "SwiftletFunctionLatencyHigh", "SwiftletColdStartRate", "SwiftletAsyncDeadLetters", "SwiftletInstanceCrashLoop"] {
            #expect(alertNames.contains(wanted), "missing alert \(wanted)")
        }
        let ruleExpressions = alerts.compactMap { $0["expr"] as? String }
        #expect(ruleExpressions.count == alerts.count)

        var used: Set<String> = []
        for expression in dashboardExpressions + ruleExpressions {
            let names = Self.metricNames(in: expression)
            #expect(!names.isEmpty, "no metric in \(expression)")
            for name in names {
                #expect(exported.contains(name), "\(name) (in \(expression)) is not a metric Swiftlet exports")
            }
            used.formUnion(names)
        }
        #expect(used.count >= 15)
    }

    @Test("the scrape config points at the metrics port and loads the rules")
    func scrapeConfig() throws {
        let text = try String(contentsOf: Self.directory.appendingPathComponent("prometheus.yml"), encoding: .utf8)
        let config = try #require(try Yams.load(yaml: text) as? [String: Any])
        #expect((config["rule_files"] as? [String]) == ["swiftlet-alerts.yml"])
        let jobs = try #require(config["scrape_configs"] as? [[String: Any]])
        let job = try #require(jobs.first { $0["job_name"] as? String == "swiftlet" })
        #expect(job["metrics_path"] as? String == "/metrics")
        let targets = ((job["static_configs"] as? [[String: Any]]) ?? []).flatMap { ($0["targets"] as? [String]) ?? [] }
        #expect(targets == ["127.0.0.1:8082"])
    }
}
