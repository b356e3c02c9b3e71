import Foundation
import NIOConcurrencyHelpers
import Testing

/// One line of the attack report: what was tried, in which tier, what outcome the tier must give,
/// what happened, and whether that is one of the expected outcomes.
struct AttackRow: Sendable {
    enum Verdict: String, Sendable {
        case pass
        case fail = "FAIL"
        /// Not run: the tier or the tool the attack needs is missing on this host.
        case skipped = "skipped"
    }

    var attack: String
    var tier: String
    var expected: String
    var result: String
    var verdict: Verdict
}

/// Collects the rows of every attack test and renders them as one Markdown table, printed to
/// stdout and written to `.build/security-report.md`.
///
/// ```swift
/// AttackTable.shared.check("read /etc/shadow", tier: .standard, result: "ENOENT", oneOf: ["ENOENT"])
/// ```
final class AttackTable: Sendable {
    static let shared = AttackTable()

    private let rows = NIOLockedValueBox<[AttackRow]>([])

    /// Where the report goes: `.build/security-report.md` of this checkout.
    static let reportPath: String = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<4 { url.deleteLastPathComponent() }  // Security, SwiftletEndToEndTests, Tests, file
        return url.appendingPathComponent(".build/security-report.md").path
    }()

    /// Records a row and expects it to pass, so a failed attack fails the calling test.
    @discardableResult
    func record(
        _ attack: String, tier: AttackTier, expected: String, result: String, passed: Bool, sourceLocation: SourceLocation = #_sourceLocation
    ) -> Bool {
        let row = AttackRow(attack: attack, tier: tier.rawValue, expected: expected, result: result, verdict: passed ? .pass : .fail)
        rows.withLockedValue { $0.append(row) }
        #expect(passed, "\(tier): \(attack): expected \(expected), got \(result)", sourceLocation: sourceLocation)
        return passed
    }

    /// Records a row that passes when `result` is one of `accepted` (never `ok`: an attack that
    /// worked always fails).
    @discardableResult
    func check(_ attack: String, tier: AttackTier, result: String, oneOf accepted: [String], sourceLocation: SourceLocation = #_sourceLocation) -> Bool {
        let passed = result != "ok" && !result.hasPrefix("ok ") && accepted.contains(result)
        return record(attack, tier: tier, expected: accepted.joined(separator: " or "), result: result, passed: passed, sourceLocation: sourceLocation)
    }

    /// Records a row that was not run, with the reason.
    func skip(_ attack: String, tier: AttackTier, expected: String, reason: String) {
        rows.withLockedValue { $0.append(AttackRow(attack: attack, tier: tier.rawValue, expected: expected, result: reason, verdict: .skipped)) }
    }

    /// The rows so far, in the order they were recorded.
    var all: [AttackRow] { rows.withLockedValue { $0 } }

    /// The rows as a Markdown table.
    static func markdown(_ rows: [AttackRow]) -> String {
        func cell(_ text: String) -> String {
            text.replacingOccurrences(of: "|", with: "\\|").replacingOccurrences(of: "\n", with: " ")
        }
        var lines = ["| attack | tier | expected | result | pass |", "|---|---|---|---|---|"]
        for row in rows {
            lines.append("| \(cell(row.attack)) | \(row.tier) | \(cell(row.expected)) | \(cell(row.result)) | \(row.verdict.rawValue) |")
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// Prints `rows` (by default every row) and writes every row so far to ``reportPath``.
    func publish(_ rows: [AttackRow]? = nil, title: String) {
        let all = self.all
        let passed = all.filter { $0.verdict == .pass }.count
        let failed = all.filter { $0.verdict == .fail }.count
        print("\n### \(title)\n\n" + Self.markdown(rows ?? all))
        let report = "# Swiftlet attack suite\n\n\(passed) passed, \(failed) failed, \(all.count - passed - failed) skipped.\n\n" + Self.markdown(all)
        let directory = (Self.reportPath as NSString).deletingLastPathComponent
        try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        do {
            try Data(report.utf8).write(to: URL(fileURLWithPath: Self.reportPath))
        } catch {
            print("cannot write \(Self.reportPath): \(error)")
        }
    }

    /// Runs `body`, then prints the rows it added and rewrites the report, also when it throws.
    func collecting<T>(_ title: String, _ body: () async throws -> T) async throws -> T {
        let start = all.count
        do {
            let value = try await body()
            publish(Array(all.dropFirst(start)), title: title)
            return value
        } catch {
            publish(Array(all.dropFirst(start)), title: title + " (stopped by \(error))")
            throw error
        }
    }
}
