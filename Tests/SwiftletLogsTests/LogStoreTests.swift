import Foundation
import Logging
import SwiftletLogs
import SwiftletSandbox
import Testing

@Suite("Log store")
struct LogStoreTests {
    static func temporaryDirectory() -> String {
        let path = NSTemporaryDirectory() + "swiftlet-logs-\(UUID().uuidString)"
        try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    static func entry(_ text: String, instance: String = "i1", at timestamp: Int64 = RFC3339.now()) -> LogEntry {
        LogEntry(timestamp: timestamp, instance: instance, stream: .stdout, text: text)
    }

    @Test func rotationBoundsDisk() async throws {
        let directory = Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let store = FunctionLogStore(
            configuration: .init(directory: directory, maxFileBytes: 1024, files: 3), logger: Logger(label: "test"))
        for index in 0..<500 {
            try await store.append(Self.entry("line \(index) " + String(repeating: "x", count: 40)), function: "fn")
        }
        let folder = directory + "/fn"
        let names = try FileManager.default.contentsOfDirectory(atPath: folder).sorted()
        #expect(names == ["current.log", "current.log.1", "current.log.2"])
        var total = 0
        for name in names {
            let size = try #require(try FileManager.default.attributesOfItem(atPath: folder + "/" + name)[.size] as? Int)
            #expect(size <= 1024)
            total += size
        }
        #expect(total <= 3 * 1024)
        let kept = try await store.read(function: "fn")
        #expect(!kept.isEmpty)
        #expect(kept.last?.text.hasPrefix("line 499 ") == true)
        #expect(kept.count < 500)
        // Oldest first, no gaps within what is kept.
        let numbers = kept.compactMap { Int($0.text.split(separator: " ")[1]) }
        #expect(numbers == Array(numbers.first!...499))
    }

    @Test func survivesANewStore() async throws {
        let directory = Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let first = FunctionLogStore(configuration: .init(directory: directory), logger: Logger(label: "test"))
        try await first.append(Self.entry("before restart"), function: "fn")
        first.stop()
        let second = FunctionLogStore(configuration: .init(directory: directory), logger: Logger(label: "test"))
        try await second.append(Self.entry("after restart"), function: "fn")
        #expect(try await second.read(function: "fn").map(\.text) == ["before restart", "after restart"])
    }

    @Test func tailSinceAndInstanceFilters() async throws {
        let directory = Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let store = FunctionLogStore(configuration: .init(directory: directory), logger: Logger(label: "test"))
        for index in 0..<10 {
            try await store.append(
                Self.entry("l\(index)", instance: index % 2 == 0 ? "a" : "b", at: Int64(index) * 1_000_000_000), function: "fn")
        }
        #expect(try await store.read(function: "fn", query: .init(tail: 3)).map(\.text) == ["l7", "l8", "l9"])
        #expect(try await store.read(function: "fn", query: .init(tail: 0)).count == 10)
        #expect(try await store.read(function: "fn", query: .init(instance: "a", tail: 2)).map(\.text) == ["l6", "l8"])
        #expect(try await store.read(function: "fn", query: .init(since: 8_000_000_000)).map(\.text) == ["l8", "l9"])
        #expect(try await store.read(function: "other").isEmpty)
    }

    @Test func followSeesLaterLinesOnceAndLetsGo() async throws {
        let directory = Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let store = FunctionLogStore(configuration: .init(directory: directory), logger: Logger(label: "test"))
        try await store.append(Self.entry("old"), function: "fn")
        let follow = try await store.follow(function: "fn", query: .init(instance: "i2"))
        #expect(follow.history.isEmpty)
        #expect(store.followerCount(function: "fn") == 1)
        try await store.append(Self.entry("other instance"), function: "fn")
        try await store.append(Self.entry("new", instance: "i2"), function: "fn")
        var iterator = follow.live.makeAsyncIterator()
        #expect(await iterator.next()?.text == "new")
        let task = Task { for await _ in follow.live {} }
        task.cancel()
        await task.value
        #expect(store.followerCount(function: "fn") == 0)
    }

    @Test func captureGoesThroughTheQueue() async throws {
        let directory = Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let store = FunctionLogStore(configuration: .init(directory: directory), logger: Logger(label: "test"))
        let runner = Task { try await store.run() }
        defer { runner.cancel() }
        let follow = try await store.follow(function: "fn")
        store.line(function: "fn", instance: "i9", stream: .stderr, text: "hello")
        var iterator = follow.live.makeAsyncIterator()
        let entry = try #require(await iterator.next())
        #expect(entry.text == "hello" && entry.stream == "stderr" && entry.instance == "i9")
    }

    @Test func rfc3339() {
        let nanos: Int64 = 1_700_000_000_123_456_789
        let text = RFC3339.format(nanos)
        #expect(text == "2023-11-14T22:13:20.123456789Z")
        #expect(RFC3339.parse(text) == nanos)
        #expect(RFC3339.parse("2023-11-14T23:13:20+01:00") == 1_700_000_000_000_000_000)
        #expect(RFC3339.parse("2023-11-14T22:13:20.5Z") == 1_700_000_000_500_000_000)
        #expect(RFC3339.parse("2999-01-01T00:00:00Z") == Int64.max)
        #expect(RFC3339.parse("0001-01-01T00:00:00Z") == Int64.min)
        #expect(RFC3339.parse("yesterday") == nil)
        #expect(RFC3339.parse("2023-11-14") == nil)
    }
}
