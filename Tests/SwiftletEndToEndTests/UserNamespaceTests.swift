import Foundation
import NIOCore
import SwiftletCore
import SwiftletProviders
import Testing

extension EndToEnd {
    /// Standard-tier code functions run in a user namespace of their own: root and the function's
    /// uid inside map to a block of host ids no other instance uses.
    @Suite("End to end: user namespaces", .serialized)
    struct UserNamespaceTests {
        static let json = [("Content-Type", "application/json")]

        static let ids = #"""
            import os
            def handle(event, context):
                secret = "/var/openfaas/secrets/ns-secret"
                return {"statusCode": 200, "body": {
                    "uid": os.getuid(), "uid_map": " ".join(open("/proc/self/uid_map").read().split()),
                    "gid_map": " ".join(open("/proc/self/gid_map").read().split()),
                    "secret": open(secret).read() if os.path.exists(secret) else None,
                    "hostname": os.uname().nodename}}
            """#

        /// The host uid of the first process of container `id` (from runc's state).
        static func hostUID(of id: String, platform: TestPlatform) async throws -> UInt32? {
            let state = try await platform.host.runtime.state(id: id)
            let status = try String(contentsOfFile: "/proc/\(state.pid)/status", encoding: .utf8)
            let line = status.split(separator: "\n").first { $0.hasPrefix("Uid:") }
            return line.flatMap { UInt32($0.split(separator: "\t")[1]) }
        }

        @Test("each instance maps its ids onto a host block of its own, new and warm sandboxes alike; secrets stay readable", arguments: [false, true])
        func ownBlocks(pooled: Bool) async throws {
            try await TestPlatform.with(warmPool: pooled ? .init(sizes: [.python3: 2]) : .disabled) { platform in
                let secret = try await platform.request(
                    .POST, "/system/secrets", body: ByteBuffer(string: #"{"name":"ns-secret","value":"mapped"}"#), headers: Self.json, auth: true
                )
                #expect(secret.status == 201 || secret.status == 200, "\(secret.text)")
                try await platform.deployOK("one", runtime: "python3", source: Self.ids, extra: ["secrets": ["ns-secret"]])
                try await platform.deployOK("two", runtime: "python3", source: Self.ids)
                let scaled = try await platform.request(
                    .POST, "/system/scale-function/two", body: ByteBuffer(string: #"{"replicas":2}"#), headers: Self.json, auth: true
                )
                #expect(scaled.status == 200 || scaled.status == 202)
                let one = try await platform.call("one").json()
                #expect(one["uid"] as? Int == 10001)
                #expect(one["secret"] as? String == "mapped", "the secret file belongs to the mapped uid: \(one)")
                #expect(try await eventually { try await platform.containers().filter { $0.hasPrefix("two-") }.count == 2 })

                // Each instance's block, read on the host from its first process.
                let oneMap = try #require(one["uid_map"] as? String)
                var blocks: [String: UInt64] = [:]
                for id in try await platform.host.runtime.list() {
                    let state = try await platform.host.runtime.state(id: id)
                    let map = try String(contentsOfFile: "/proc/\(state.pid)/uid_map", encoding: .utf8)
                    let fields = map.split(whereSeparator: \.isWhitespace).compactMap { UInt64($0) }
                    #expect(fields.count == 3 && fields[0] == 0 && fields[2] == 65_536, "\(id): \(map)")
                    #expect(fields.count == 3 && fields[1] >= 1_000_000_000, "\(id): \(map)")
                    if fields.count == 3 { blocks[id] = fields[1] }
                }
                #expect(blocks.count >= 3, "\(blocks)")
                #expect(Set(blocks.values).count == blocks.count, "no two instances share host ids: \(blocks)")
                #expect(blocks.values.contains { oneMap == "0 \($0) 65536" }, "the function sees its own block: \(oneMap)")

                // On the host, the runner runs as the block's id for 10001, not as 10001 or root.
                for id in try await platform.host.runtime.list() {
                    let uid = try #require(try await Self.hostUID(of: id, platform: platform))
                    #expect(uid >= 1_000_000_000 + 10001 && (uid - 1_000_000_000) % 65_536 == 10001, "\(id): host uid \(uid)")
                }
            }
        }

        @Test("image functions map too: the image's uid 1000 is block + 1000 on the host, through an idmapped view of the image", arguments: [false, true])
        func imageFunctions(readOnly: Bool) async throws {
            try await TestPlatform.with { platform in
                try await ImageFunctionTests.deployBusyHTTPD(
                    platform, "img", extra: ["readOnlyRootFilesystem": readOnly, "envVars": ["GREETING": "ns"]]
                )
                let echo = try await platform.call("img", path: "/cgi-bin/echo?x=1", method: .POST, body: ByteBuffer(string: "body!"))
                #expect(echo.status == 200 && echo.text.contains("uid=1000 greeting=ns"), "\(echo.status) \(echo.text)")
                let id = try #require(try await platform.host.runtime.list().first { $0.hasPrefix("img-") })
                let state = try await platform.host.runtime.state(id: id)
                let map = try String(contentsOfFile: "/proc/\(state.pid)/uid_map", encoding: .utf8)
                let fields = map.split(whereSeparator: \.isWhitespace).compactMap { UInt32($0) }
                #expect(fields.count == 3 && fields[0] == 0 && fields[1] >= 1_000_000_000 && fields[2] == 65_536, "\(map)")
                let uid = try #require(try await Self.hostUID(of: id, platform: platform))
                if fields.count == 3 { #expect(uid == fields[1] + 1000, "host uid \(uid), block \(fields[1])") }
                // The image on disk keeps its owners; only the instance's view is shifted.
                let mounts = try String(contentsOfFile: "/proc/self/mountinfo", encoding: .utf8)
                #expect(mounts.contains(platform.host.bundles + "/" + id + "/image"), "the idmapped view is mounted")
                let removed = try await platform.request(
                    .DELETE, "/system/functions", body: ByteBuffer(string: #"{"functionName":"img"}"#), headers: Self.json, auth: true
                )
                #expect(removed.status == 200 || removed.status == 202)
                #expect(try await eventually { try await platform.containers().isEmpty })
                let after = try String(contentsOfFile: "/proc/self/mountinfo", encoding: .utf8)
                #expect(!after.contains(platform.host.bundles + "/" + id), "no mount of the instance is left")
            }
        }

        @Test("--no-user-namespaces keeps the host's ids (the identity map)")
        func turnedOff() async throws {
            try await TestPlatform.with(native: { $0.userNamespaces = false }) { platform in
                try await platform.deployOK("plain", runtime: "python3", source: Self.ids)
                let answer = try await platform.call("plain").json()
                #expect(answer["uid_map"] as? String == "0 0 4294967295")
            }
        }

        @Test("the hardened tier does not use a runc user namespace: gVisor's kernel has its own ids")
        func hardenedHasItsOwn() async throws {
            try await TestPlatform.with { platform in
                try await platform.deployOK("gv-ids", runtime: "python3", source: Self.ids, extra: ["isolation": "hardened"])
                let answer = try await platform.call("gv-ids").json()
                #expect(answer["uid"] as? Int == 10001)
                #expect(answer["uid_map"] as? String == "0 0 4294967295", "\(answer)")
            }
        }
    }
}
