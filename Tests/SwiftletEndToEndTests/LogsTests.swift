import AsyncHTTPClient
import Foundation
import NIOCore
import Testing

extension EndToEnd {
    /// Instance logs of real runc sandboxes: captured to disk, served as NDJSON, followed across
    /// an instance replacement, kept across a gateway restart.
    @Suite("End to end: logs")
    struct LogsTests {
        static func printer(_ version: String) -> String {
            """
            import sys
            def handle(event, context):
                body = (event.body or b"").decode()
                print("hello " + body + " from \(version)", flush=True)
                print("oops " + body, file=sys.stderr, flush=True)
                return {"statusCode": 200, "body": "ok"}
            """
        }

        /// Follows `/system/logs` and hands out the lines one by one.
        final class Follower: Sendable {
            let lines: AsyncStream<[String: String]>
            private let task: Task<Void, any Error>

            init(platform: TestPlatform, query: String) async throws {
                var request = HTTPClientRequest(url: platform.baseURL + "/system/logs?" + query)
                let token = Data("\(platform.credentials.user):\(platform.credentials.password)".utf8).base64EncodedString()
                request.headers.add(name: "Authorization", value: "Basic \(token)")
                let response = try await HTTPClient.shared.execute(request, timeout: .seconds(120))
                #expect(response.status == .ok)
                #expect(response.headers.first(name: "Content-Type") == "application/x-ndjson")
                let (lines, continuation) = AsyncStream.makeStream(of: [String: String].self)
                self.lines = lines
                task = Task {
                    defer { continuation.finish() }
                    var pending = ""
                    for try await chunk in response.body {
                        pending += String(buffer: chunk)
                        while let newline = pending.firstIndex(of: "\n") {
                            let line = String(pending[..<newline])
                            pending = String(pending[pending.index(after: newline)...])
                            if let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: String] {
                                continuation.yield(object)
                            }
                        }
                    }
                }
            }

            /// The next line whose text contains `text` (skipping others), within 60 s.
            func next(containing text: String) async throws -> [String: String] {
                let lines = self.lines
                return try await withThrowingTaskGroup(of: [String: String]?.self) { group in
                    group.addTask {
                        for await line in lines where line["text"]?.contains(text) == true { return line }
                        return nil
                    }
                    group.addTask {
                        try await Task.sleep(for: .seconds(60))
                        return nil
                    }
                    defer { group.cancelAll() }
                    return try #require(try await group.next() ?? nil, "no log line containing '\(text)'")
                }
            }

            /// The first line containing each of `texts`, in whatever order they come, within 60 s.
            func next(containingAll texts: [String]) async throws -> [String: [String: String]] {
                let lines = self.lines
                return try await withThrowingTaskGroup(of: [String: [String: String]]?.self) { group in
                    group.addTask {
                        var found: [String: [String: String]] = [:]
                        for await line in lines {
                            for text in texts where found[text] == nil && line["text"]?.contains(text) == true { found[text] = line }
                            if found.count == texts.count { return found }
                        }
                        return nil
                    }
                    group.addTask {
                        try await Task.sleep(for: .seconds(60))
                        return nil
                    }
                    defer { group.cancelAll() }
                    return try #require(try await group.next() ?? nil, "not every one of \(texts) came in a log line")
                }
            }

            func stop() async {
                task.cancel()
                _ = await task.result
            }
        }

        @Test("stdout and stderr of real instances: NDJSON, follow across a replacement, kept after a restart")
        func realInstances() async throws {
            let platform = try await TestPlatform.start()
            var stopped = false
            do {
                try await platform.deployOK("talker", runtime: "python3", source: Self.printer("v1"))
                #expect(try await platform.call("talker", method: .POST, body: ByteBuffer(string: "one")).status == 200)

                // The call's two lines (stdout and stderr) may be stored just before or just after the
                // follower connects: take the stored tail too, so both are seen either way.
                let follower = try await Follower(platform: platform, query: "name=talker&follow=true&tail=20")
                // stdout and stderr are separate pipes: their lines may come in either order.
                let both = try await follower.next(containingAll: ["hello one from v1", "oops one"])
                let first = try #require(both["hello one from v1"])
                #expect(first["name"] == "talker" && first["namespace"] == "openfaas-fn")
                #expect(first["timestamp"]?.hasSuffix("Z") == true && first["instance"]?.isEmpty == false)
                #expect(both["oops one"]?["instance"] == first["instance"])
                // Written after the follower connected.
                #expect(try await platform.call("talker", method: .POST, body: ByteBuffer(string: "two")).status == 200)
                #expect(try await follower.next(containing: "hello two from v1")["instance"] == first["instance"])
                // An update replaces the instance; the follower keeps receiving, from the new one.
                let update = try await platform.deploy("talker", runtime: "python3", code: Data(Self.printer("v2").utf8), method: .PUT)
                #expect(update.status == 202 || update.status == 200, "\(update.text)")
                var replaced: [String: String] = [:]
                for attempt in 0..<60 {
                    let answer = try await platform.call("talker", method: .POST, body: ByteBuffer(string: "three-\(attempt)"))
                    if answer.status == 200, let line = try? await follower.next(containing: "hello three-\(attempt) from") {
                        if line["text"]?.hasSuffix("from v2") == true {
                            replaced = line
                            break
                        }
                    }
                    try await Task.sleep(for: .milliseconds(250))
                }
                #expect(replaced["text"]?.hasSuffix("from v2") == true, "the follower saw no line of the new instance")
                #expect(replaced["instance"] != nil && replaced["instance"] != first["instance"])
                await follower.stop()

                // tail and since over the stored lines.
                let tail = try await platform.request(.GET, "/system/logs?name=talker&tail=1", auth: true)
                #expect(tail.status == 200)
                #expect(tail.text.split(separator: "\n").count == 1)
                let future = try await platform.request(.GET, "/system/logs?name=talker&since=2999-01-01T00:00:00Z", auth: true)
                #expect(future.status == 200 && future.text.isEmpty)
                #expect(try await platform.request(.GET, "/system/logs?name=talker").status == 401)

                // The CLI: all lines, the tail, a since window, and a clear error for an unknown function.
                let environment = ["SWIFTLET_USER": platform.credentials.user, "SWIFTLET_PASSWORD": platform.credentials.password]
                let gateway = ["--gateway", platform.baseURL]
                let all = try await SwiftletBinary.run(["logs", "talker"] + gateway, environment: environment)
                #expect(all.status == 0, "\(all.stderr)")
                #expect(all.stdout.contains(" talker (\(first["instance"] ?? "?")) hello one from v1"), "\(all.stdout)")
                let last = try await SwiftletBinary.run(["logs", "talker", "--tail", "1", "--since", "10m"] + gateway, environment: environment)
                #expect(last.status == 0 && last.stdout.split(separator: "\n").count == 1, "\(last.stdout) \(last.stderr)")
                let none = try await SwiftletBinary.run(["logs", "talker", "--since", "2999-01-01T00:00:00Z"] + gateway, environment: environment)
                #expect(none.status == 0 && none.stdout.isEmpty)
                let unknown = try await SwiftletBinary.run(["logs", "nobody"] + gateway, environment: environment)
                #expect(unknown.status != 0 && unknown.stderr.contains("not found"), "\(unknown.stderr)")
                let badSince = try await SwiftletBinary.run(["logs", "talker", "--since", "soon"] + gateway, environment: environment)
                #expect(badSince.status != 0 && badSince.stderr.contains("--since"))

                // A restart on the same data directory still serves the earlier lines.
                await platform.stop()
                stopped = true
                let restarted = try await TestPlatform.start(dataDirectory: platform.dataDirectory)
                let kept = try await restarted.request(.GET, "/system/logs?name=talker&tail=0", auth: true)
                await restarted.stop()
                #expect(kept.status == 200)
                #expect(kept.text.contains("hello one from v1") && kept.text.contains("oops two"))
            } catch {
                if !stopped { await platform.stop() }
                platform.removeDataDirectory()
                throw error
            }
            platform.removeDataDirectory()
        }
    }
}
