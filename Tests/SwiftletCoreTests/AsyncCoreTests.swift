import Foundation
import SwiftletCore
import Synchronization
import Testing

/// The async queue's domain types: callback URLs, the async labels, the retry back-off and the
/// call report the API shows.
@Suite struct AsyncCoreTests {
    typealias Key = AsyncLabels.Key

    static let epoch = Date(timeIntervalSince1970: 1_700_000_000)

    // MARK: CallbackURL

    @Test(
        "good callback URLs are accepted as given",
        arguments: [
            "http://example.com/cb", "https://example.com/hooks/done?token=abc&x=1", "https://example.com:8443/hook",
            "http://127.0.0.1:9000/", "http://localhost:1/", "http://example.com:65535/", "http://[::1]:8080/cb", "http://[::1]/",
            "HTTPS://Example.COM/Path",
        ]
    )
    func goodCallbackURL(_ url: String) throws {
        #expect(try CallbackURL.validate(url) == url)
    }

    @Test("surrounding spaces are trimmed")
    func callbackURLTrimmed() throws {
        #expect(try CallbackURL.validate("  http://example.com/cb ") == "http://example.com/cb")
    }

    @Test("a URL of exactly 2048 bytes is accepted, one byte more is refused")
    func callbackURLLength() throws {
        let prefix = "http://example.com/"
        let longest = prefix + String(repeating: "a", count: CallbackURL.maxBytes - prefix.utf8.count)
        #expect(longest.utf8.count == 2048)
        #expect(try CallbackURL.validate(longest) == longest)
        let error = expectSwiftletError(.invalidInput) { () throws(SwiftletError) in _ = try CallbackURL.validate(longest + "a") }
        #expect(error?.message.contains("2048") == true)
    }

    @Test(
        "bad callback URLs are refused as invalid input",
        arguments: [
            "", "   ", "/relative/path", "relative/path", "example.com/cb", "ftp://example.com/file", "file:///etc/passwd",
            "javascript:alert(1)", "data:text/plain,hi", "http://", "http:///path", "http://exa mple.com/", "http://example.com/a b",
            "http://example.com/\u{07}", "http://example.com/\n", "http://example.com/\u{7F}", "http://example.com/é",
            "http://user:secret@example.com/", "http://user@example.com/", "http://example.com/cb#fragment", "http://example.com/#",
            "http://example.com:0/", "http://example.com:70000/", "http://example.com:-1/",
        ]
    )
    func badCallbackURL(_ url: String) {
        _ = expectSwiftletError(.invalidInput) { () throws(SwiftletError) in _ = try CallbackURL.validate(url) }
    }

    // MARK: AsyncLabels

    @Test("absent labels give concurrency 4 and 5 attempts")
    func asyncLabelDefaults() throws {
        let labels = try AsyncLabels(validating: [:])
        #expect(labels.concurrency == 4 && labels.maxAttempts == 5)
        #expect(labels == AsyncLabels())
        #expect(AsyncLabels.defaultConcurrency == 4 && AsyncLabels.defaultMaxAttempts == 5)
        #expect(try AsyncLabels(validating: ["team": "a"]) == AsyncLabels())
    }

    @Test(
        "valid labels are read", arguments: [("1", "1", 1, 1), ("1000", "100", 1000, 100), (" 7 ", "3", 7, 3), ("16", " 12", 16, 12)]
    )
    func asyncLabelsValid(_ concurrency: String, _ attempts: String, _ expectedConcurrency: Int, _ expectedAttempts: Int) throws {
        let labels = try AsyncLabels(validating: [Key.concurrency: concurrency, Key.maxAttempts: attempts])
        #expect(labels.concurrency == expectedConcurrency && labels.maxAttempts == expectedAttempts)
    }

    @Test(
        "bad values are refused with a message naming the label",
        arguments: [
            (Key.concurrency, "0"), (Key.concurrency, "1001"), (Key.concurrency, "-1"), (Key.concurrency, "abc"), (Key.concurrency, ""),
            (Key.concurrency, "2.5"), (Key.concurrency, "1e3"), (Key.maxAttempts, "0"), (Key.maxAttempts, "101"),
            (Key.maxAttempts, "many"), (Key.maxAttempts, "-5"), (Key.maxAttempts, "99999999999999999999999"),
        ]
    )
    func asyncLabelsInvalid(_ key: String, _ value: String) {
        let error = expectSwiftletError(.invalidInput) { () throws(SwiftletError) in _ = try AsyncLabels(validating: [key: value]) }
        #expect(error?.message.contains(key) == true, "message: \(error?.message ?? "")")
    }

    @Test("a stored spec with unparsable labels falls back to the defaults")
    func asyncLabelsFromSpec() {
        let bad = FunctionSpec(name: "f", runtime: .python3, codeDigest: "d", labels: [Key.concurrency: "zero"])
        #expect(AsyncLabels(bad) == AsyncLabels())
        let good = FunctionSpec(name: "f", runtime: .python3, codeDigest: "d", labels: [Key.concurrency: "2", Key.maxAttempts: "9"])
        #expect(AsyncLabels(good).concurrency == 2 && AsyncLabels(good).maxAttempts == 9)
    }

    @Test(
        "deployments with bad async labels are refused",
        arguments: [(Key.concurrency, "0"), (Key.concurrency, "lots"), (Key.maxAttempts, "101"), (Key.maxAttempts, "")]
    )
    func deploymentRefusesBadAsyncLabels(_ key: String, _ value: String) {
        let deployment = FunctionDeployment(
            service: "hello", labels: [key: value], runtime: "python3", code: Data("def handle(e, c): pass\n".utf8).base64EncodedString()
        )
        let error = expectSwiftletError(.invalidInput) { () throws(SwiftletError) in
            _ = try DeploymentValidator().validate(deployment, now: Self.epoch)
        }
        #expect(error?.message.contains(key) == true, "message: \(error?.message ?? "")")
    }

    @Test("deployments with good async labels keep them")
    func deploymentKeepsAsyncLabels() throws {
        let deployment = FunctionDeployment(
            service: "hello", labels: [Key.concurrency: "8", Key.maxAttempts: "2"], runtime: "python3",
            code: Data("def handle(e, c): pass\n".utf8).base64EncodedString()
        )
        let spec = try DeploymentValidator().validate(deployment, now: Self.epoch).spec
        #expect(AsyncLabels(spec).concurrency == 8 && AsyncLabels(spec).maxAttempts == 2)
    }

    // MARK: RetryPolicy

    /// A `random` that must not be called.
    static func noRandom(_ range: ClosedRange<Double>) -> Double {
        Issue.record("random was called with \(range) although jitter is off")
        return 1
    }

    @Test("without jitter the delay doubles from the initial delay and stops at the maximum")
    func retryExponential() {
        let policy = RetryPolicy(initial: .seconds(1), maximum: .seconds(300), jitter: 1)
        let delays = (1...10).map { policy.delay(afterAttempt: $0, random: Self.noRandom) }
        #expect(delays == [1, 2, 4, 8, 16, 32, 64, 128, 256, 300].map { Duration.seconds($0) })
        #expect(policy.delay(afterAttempt: 1000, random: Self.noRandom) == .seconds(300))
        #expect(policy.delay(afterAttempt: .max, random: Self.noRandom) == .seconds(300))
        #expect(policy.delay(afterAttempt: 0, random: Self.noRandom) == .seconds(1))
        #expect(policy.delay(afterAttempt: -3, random: Self.noRandom) == .seconds(1))
    }

    @Test("short delays are exact to the millisecond")
    func retryMilliseconds() {
        let policy = RetryPolicy(initial: .milliseconds(5), maximum: .milliseconds(30), jitter: 1)
        let delays = (1...5).map { policy.delay(afterAttempt: $0, random: Self.noRandom) }
        #expect(delays == [5, 10, 20, 30, 30].map { Duration.milliseconds($0) })
    }

    @Test("jitter scales the delay by the random factor drawn from jitter…1")
    func retryJitter() {
        let policy = RetryPolicy(initial: .seconds(1), maximum: .seconds(300), jitter: 0.5)
        let ranges = Mutex<[ClosedRange<Double>]>([])
        let lowest = policy.delay(afterAttempt: 3) { range in
            ranges.withLock { $0.append(range) }
            return range.lowerBound
        }
        let highest = policy.delay(afterAttempt: 3) { $0.upperBound }
        let middle = policy.delay(afterAttempt: 3) { _ in 0.75 }
        #expect(lowest == .seconds(2) && highest == .seconds(4) && middle == .seconds(3))
        #expect(ranges.withLock { $0 } == [0.5...1])
        // The cap applies before jitter.
        #expect(policy.delay(afterAttempt: 20) { $0.lowerBound } == .seconds(150))
        // Jitter 0 draws from 0…1.
        #expect(RetryPolicy(jitter: 0).delay(afterAttempt: 2) { range in range.lowerBound } == .zero)
    }

    @Test("the jitter factor is clamped to 0…1")
    func retryJitterClamped() {
        #expect(RetryPolicy(jitter: 2).jitter == 1)
        #expect(RetryPolicy(jitter: -1).jitter == 0)
        #expect(RetryPolicy().jitter == 0.5 && RetryPolicy().initial == .seconds(1) && RetryPolicy().maximum == .seconds(300))
        #expect(RetryPolicy(jitter: 7).delay(afterAttempt: 2, random: Self.noRandom) == .seconds(2))
    }

    @Test("a floor (Retry-After) raises a shorter delay and leaves a longer one alone")
    func retryFloor() {
        let policy = RetryPolicy(initial: .seconds(1), maximum: .seconds(300), jitter: 0.5)
        #expect(policy.delay(afterAttempt: 1, floor: .seconds(10)) { $0.lowerBound } == .seconds(10))
        #expect(policy.delay(afterAttempt: 6, floor: .seconds(10)) { $0.upperBound } == .seconds(32))
        #expect(policy.delay(afterAttempt: 6, floor: .seconds(10)) { $0.lowerBound } == .seconds(16))
        #expect(policy.delay(afterAttempt: 1, floor: .milliseconds(1500)) { $0.upperBound } == .milliseconds(1500))
        // The floor is not capped by the maximum.
        #expect(policy.delay(afterAttempt: 1, floor: .seconds(900)) { $0.upperBound } == .seconds(900))
    }

    // MARK: AsyncCallReport

    static func call(
        status: AsyncCallStatus, body: Data = Data("hello".utf8), callbackURL: String? = nil, result: Bool = true
    ) -> AsyncCall {
        AsyncCall(
            id: "call-1", function: "echo",
            request: AsyncRequest(method: "POST", path: "/x?y=1", headers: [HeaderField(name: "A", value: "b")], body: Data("req".utf8)),
            callbackURL: callbackURL, status: status, attempts: 2, maxAttempts: 5, createdAt: epoch,
            updatedAt: epoch.addingTimeInterval(1.5),
            nextAttemptAt: epoch.addingTimeInterval(10.25), startedAt: epoch.addingTimeInterval(1), finishedAt: nil, lastError: "boom",
            result: result
                ? AsyncResult(
                    status: 201, headers: [HeaderField(name: "Content-Type", value: "text/plain")], body: body, durationSeconds: 0.5)
                : nil,
            callback: CallbackState(status: .delivered, attempts: 1, deliveredAt: epoch.addingTimeInterval(2))
        )
    }

    @Test("a UTF-8 answer body is shown as text")
    func reportUTF8Body() throws {
        let report = AsyncCallReport(Self.call(status: .succeeded, body: Data("héllo\n".utf8)), includeBody: true)
        #expect(report.result?.body == "héllo\n")
        #expect(report.result?.bodyEncoding == "utf8")
        #expect(report.result?.bodyBytes == 7)
        #expect(report.result?.status == 201 && report.result?.durationSeconds == 0.5)
        #expect(report.result?.headers == [HeaderField(name: "Content-Type", value: "text/plain")])
        #expect(report.resultBody == Data("héllo\n".utf8))
    }

    @Test("a binary answer body is shown as base64 and decodes back to the same bytes")
    func reportBinaryBody() throws {
        let bytes = Data([0x00, 0xFF, 0xFE, 0x80, 0x41])
        let report = AsyncCallReport(Self.call(status: .succeeded, body: bytes), includeBody: true)
        #expect(report.result?.bodyEncoding == "base64")
        #expect(report.result?.body == bytes.base64EncodedString())
        #expect(report.result?.bodyBytes == 5)
        #expect(report.resultBody == bytes)
    }

    @Test("includeBody false omits the body but keeps its size")
    func reportWithoutBody() throws {
        let report = AsyncCallReport(Self.call(status: .succeeded), includeBody: false)
        #expect(report.result?.body == nil && report.result?.bodyEncoding == nil)
        #expect(report.result?.bodyBytes == 5)
        #expect(report.resultBody == nil)
        let json = String(decoding: try JSONEncoder().encode(report), as: UTF8.self)
        #expect(!json.contains("bodyEncoding"))
    }

    @Test("nextAttemptAt is shown for queued calls only", arguments: AsyncCallStatus.allCases)
    func reportNextAttempt(_ status: AsyncCallStatus) throws {
        let report = AsyncCallReport(Self.call(status: status), includeBody: false)
        if status == .queued {
            #expect(report.nextAttemptAt == "2023-11-14T22:13:30.250Z")
        } else {
            #expect(report.nextAttemptAt == nil)
            let json = String(decoding: try JSONEncoder().encode(report), as: UTF8.self)
            #expect(!json.contains("nextAttemptAt"))
        }
    }

    @Test("the report carries the call's fields with millisecond timestamps")
    func reportFields() throws {
        let report = AsyncCallReport(Self.call(status: .running, callbackURL: "http://example.com/cb"), includeBody: true)
        #expect(report.callId == "call-1" && report.function == "echo" && report.status == .running)
        #expect(report.attempts == 2 && report.maxAttempts == 5 && report.lastError == "boom")
        #expect(report.createdAt == "2023-11-14T22:13:20.000Z")
        #expect(report.updatedAt == "2023-11-14T22:13:21.500Z")
        #expect(report.startedAt == "2023-11-14T22:13:21.000Z")
        #expect(report.finishedAt == nil)
        #expect(report.request.method == "POST" && report.request.path == "/x?y=1" && report.request.bodyBytes == 3)
        #expect(report.callback?.url == "http://example.com/cb")
        #expect(report.callback?.status == .delivered && report.callback?.attempts == 1)
        #expect(report.callback?.deliveredAt == "2023-11-14T22:13:22.000Z")
        let decoded = try JSONDecoder().decode(AsyncCallReport.self, from: try JSONEncoder().encode(report))
        #expect(decoded == report)
    }

    @Test("a call without a callback URL or a result has neither in its report")
    func reportWithoutCallbackOrResult() {
        let report = AsyncCallReport(Self.call(status: .queued, result: false), includeBody: true)
        #expect(report.callback == nil && report.result == nil && report.resultBody == nil)
    }

    @Test("the list counts every status, zero when absent")
    func callListCounts() {
        let list = AsyncCallList(counts: [.queued: 2, .dead: 1], calls: [])
        #expect(list.counts == ["queued": 2, "running": 0, "succeeded": 0, "failed": 0, "dead": 1])
    }

    @Test("final statuses")
    func finalStatuses() {
        #expect(AsyncCallStatus.allCases.filter(\.isFinal) == [.succeeded, .failed, .dead])
    }
}
