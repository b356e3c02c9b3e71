import Foundation
import SwiftletCore
import Testing

/// API tokens from the command line against a real platform: created, listed, used through
/// `SWIFTLET_TOKEN`, scoped, revoked.
extension EndToEnd {
    @Suite("End to end: API tokens")
    struct TokenCLITests {
        @Test("swiftlet token create/list/revoke; SWIFTLET_TOKEN deploys with deploy scope and calls a protected function with invoke scope")
        func tokens() async throws {
            try await TestPlatform.with { platform in
                let admin = ["SWIFTLET_URL": platform.baseURL, "SWIFTLET_USER": "admin", "SWIFTLET_PASSWORD": platform.credentials.password]
                // No basic credentials at all: only what the test passes.
                let bare = ["SWIFTLET_URL": platform.baseURL, "SWIFTLET_DATA_DIR": "/nonexistent/swiftlet-no-credentials"]
                let created = try await SwiftletBinary.run(["token", "create", "ci", "--scope", "deploy"], environment: admin)
                #expect(created.status == 0, "\(created.stderr)")
                let deployer = created.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
                #expect(deployer.hasPrefix("swl_") && created.stderr.contains("not shown again"))
                let listed = try await SwiftletBinary.run(["token", "list"], environment: admin)
                #expect(listed.stdout.contains("ci") && listed.stdout.contains("deploy") && !listed.stdout.contains(deployer), "\(listed.stdout)")

                let handler = platform.dataDirectory + "/locked.py"
                try Data("def handle(event, context):\n    return {'statusCode': 200, 'body': 'secret stuff'}\n".utf8).write(to: URL(fileURLWithPath: handler))
                let deploy = try await SwiftletBinary.run(
                    ["deploy", "locked", "--runtime", "python3", "--code", handler, "--label", "com.swiftlet.auth=true"],
                    environment: bare.merging(["SWIFTLET_TOKEN": deployer]) { $1 }
                )
                #expect(deploy.status == 0, "a deploy token deploys: \(deploy.stderr)")
                let secret = try await SwiftletBinary.run(
                    ["secret", "create", "nope", "--from-literal", "x"], environment: bare.merging(["SWIFTLET_TOKEN": deployer]) { $1 }
                )
                #expect(secret.status != 0 && secret.stderr.contains("needs admin"), "\(secret.stderr)")

                let callerToken = try await SwiftletBinary.run(["token", "create", "caller", "--scope", "invoke:locked"], environment: admin)
                let caller = callerToken.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
                let withoutFlag = try await SwiftletBinary.run(["invoke", "locked"], environment: bare.merging(["SWIFTLET_TOKEN": caller]) { $1 })
                #expect(withoutFlag.status != 0 && withoutFlag.stderr.contains("--auth"), "\(withoutFlag.stderr)")
                let invoked = try await SwiftletBinary.run(["invoke", "locked", "--auth"], environment: bare.merging(["SWIFTLET_TOKEN": caller]) { $1 })
                #expect(invoked.status == 0 && invoked.stdout == "secret stuff", "\(invoked.stdout) \(invoked.stderr)")
                let anonymous = try await platform.call("locked")
                #expect(anonymous.status == 401)

                #expect(try await SwiftletBinary.run(["token", "revoke", "ci"], environment: admin).status == 0)
                let afterRevoke = try await SwiftletBinary.run(["list"], environment: bare.merging(["SWIFTLET_TOKEN": deployer]) { $1 })
                #expect(afterRevoke.status != 0 && afterRevoke.stderr.contains("not valid"), "\(afterRevoke.stderr)")
            }
        }

        @Test("bad token commands are one clear line", arguments: [
            (["token", "create", "x"], "--scope"), (["token", "create", "x", "--scope", "root"], "scope"),
            (["token", "create", "x", "--scope", "invoke:"], "scope"), (["token", "revoke", ""], "not a token"),
            (["token", "revoke", "a/b"], "not a token"), (["token", "revoke", String(repeating: "t", count: 300)], "not a token"),
        ])
        func badCommands(_ arguments: [String], _ message: String) async throws {
            let result = try await SwiftletBinary.run(arguments, environment: ["SWIFTLET_URL": "http://127.0.0.1:9"])
            #expect(result.status != 0)
            #expect(result.stderr.contains(message), "\(result.stderr)")
            #expect(result.stderr.split(separator: "\n").count <= 2)
        }
    }
}
