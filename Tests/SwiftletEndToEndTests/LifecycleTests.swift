import Foundation
import NIOCore
import NIOHTTP1
import Testing

extension EndToEnd {
    /// Update, delete, restart: the function API over real sandboxes.
    @Suite("End to end: lifecycle")
    struct LifecycleTests {
        @Test("update rolls instances without failing a call; GET/list report it")
        func rollingUpdate() async throws {
            try await TestPlatform.with { platform in
                try await platform.deployOK("ver", runtime: "python3", source: Handlers.version("v1"), extra: ["labels": ["team": "a"]])
                #expect(try await platform.call("ver").text == "v1")
                let before = try await platform.containers()

                // Keep calling while the update rolls; every call must succeed with v1 or v2.
                let caller = Task {
                    var answers: [String] = []
                    for _ in 0..<400 {
                        let answer = try await platform.call("ver")
                        answers.append(answer.status == 200 ? answer.text : "HTTP \(answer.status)")
                        if answer.text == "v2" && answers.filter({ $0 == "v2" }).count > 20 { break }
                    }
                    return answers
                }
                let update = try await platform.deploy("ver", runtime: "python3", code: Data(Handlers.version("v2").utf8), method: .PUT)
                #expect(update.status == 200, "\(update.text)")
                let answers = try await caller.value
                #expect(answers.allSatisfy { $0 == "v1" || $0 == "v2" }, "a call failed during the update: \(Set(answers))")
                #expect(try await eventually { try await platform.call("ver").text == "v2" })
                // The old instance is gone once drained.
                #expect(try await eventually { Set(try await platform.containers()).isDisjoint(with: before) })

                let status = try await platform.request(.GET, "/system/function/ver", auth: true)
                #expect(status.status == 200)
                let json = try status.json()
                #expect(json["name"] as? String == "ver")
                #expect((json["labels"] as? [String: String])?["faas_function"] == "ver")
                #expect(json["replicas"] as? Int == 1)
                #expect(json["availableReplicas"] as? Int == 1)
                #expect((json["invocationCount"] as? Double ?? 0) >= 1)
                #expect(json["createdAt"] as? String != nil)
                let list = try await platform.request(.GET, "/system/functions", auth: true)
                let names = try #require(try JSONSerialization.jsonObject(with: Data(list.body.readableBytesView)) as? [[String: Any]]).compactMap { $0["name"] as? String }
                #expect(names == ["ver"])
            }
        }

        @Test("delete removes the function and its sandboxes")
        func delete() async throws {
            try await TestPlatform.with { platform in
                try await platform.deployOK("gone", runtime: "python3", source: Handlers.version("here"))
                #expect(try await platform.call("gone").status == 200)
                #expect(try await platform.containers().contains { $0.hasPrefix("gone-") })
                let body = ByteBuffer(string: #"{"functionName":"gone"}"#)
                let answer = try await platform.request(.DELETE, "/system/functions", body: body, headers: [("Content-Type", "application/json")], auth: true)
                #expect(answer.status == 200)
                #expect(try await platform.call("gone").status == 404)
                #expect(try await eventually { !(try await platform.containers().contains { $0.hasPrefix("gone-") }) })
                let again = try await platform.request(.DELETE, "/system/functions", body: body, headers: [("Content-Type", "application/json")], auth: true)
                #expect(again.status == 404)
            }
        }

        @Test("after a restart every function is back and nothing of the old run is left")
        func restartPersistence() async throws {
            let first = try await TestPlatform.start()
            let directory = first.dataDirectory
            defer { try? FileManager.default.removeItem(atPath: directory) }
            do {
                try await first.deployOK("keep", runtime: "python3", source: Handlers.version("kept"))
                try await first.deployOK("keepnode", runtime: "node", source: "module.exports = async () => 'node kept'")
                #expect(try await first.call("keep").text == "kept")
                #expect(try await first.call("keepnode").text == "node kept")
            } catch {
                await first.stop()
                throw error
            }
            let oldContainers = try await first.containers()
            await first.stop()
            #expect(try await first.containers().isEmpty)
            #expect(!FileManager.default.fileExists(atPath: first.host.runDirectory), "the run directory is removed at shutdown")

            let second = try await TestPlatform.start(dataDirectory: directory)
            do {
                #expect(try await second.call("keep").text == "kept")
                #expect(try await second.call("keepnode").text == "node kept")
                #expect(Set(try await second.containers()).isDisjoint(with: oldContainers))
            } catch {
                await second.stop()
                throw error
            }
            await second.stop()
            #expect(try await second.containers().isEmpty)
        }
    }
}
