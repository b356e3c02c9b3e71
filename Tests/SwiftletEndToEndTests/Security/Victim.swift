import Foundation
import NIOCore
import Testing

/// The function the attacker aims at: deployed with a secret (through the secrets API) and a
/// marker environment variable, and found on the host (container id, host pid, code directory,
/// secret file) so the attacks use real host paths. Its handler reports its hostname and whether
/// it sees its own secret and marker, which proves those exist while the attacker cannot see them.
struct Victim {
    static let name = "victim"
    static let secretName = "victim-key"

    static let source = #"""
        import json, os
        def handle(event, context):
            try:
                secret = open("/var/openfaas/secrets/victim-key").read()
            except OSError:
                secret = ""
            return {"statusCode": 200, "body": {
                "hostname": os.uname().nodename, "secret": secret, "marker": os.environ.get("VICTIM_MARKER", ""),
            }}
        """#

    let container: String
    let hostPID: Int
    let marker: String
    let secretValue: String
    /// `<data>/code/<digest>-python3`: the victim's unpacked code on the host.
    let codeDirectory: String
    /// `<run>/bundles/<container>/secrets/victim-key`: the victim's secret on the host.
    let secretHostPath: String

    /// Creates the secret, deploys the victim in `tier`, starts an instance and finds it on the host.
    static func start(on platform: TestPlatform, tier: AttackTier) async throws -> Victim {
        let marker = "marker-\(UInt64.random(in: 0...UInt64.max))"
        let secretValue = "s3cret-\(UInt64.random(in: 0...UInt64.max))"
        let secret = try await platform.request(
            .POST, "/system/secrets", body: ByteBuffer(string: #"{"name":"\#(secretName)","value":"\#(secretValue)"}"#),
            headers: [("Content-Type", "application/json")], auth: true
        )
        #expect(secret.status == 201 || secret.status == 200, "secret: \(secret.status) \(secret.text)")
        try await EndToEnd.AttackSuiteTests.deploy(
            platform, name, source, tier: tier, extra: ["secrets": [secretName], "envVars": ["VICTIM_MARKER": marker]]
        )
        let answer = try await platform.call(name)
        let json = try answer.json()
        #expect(json["secret"] as? String == secretValue, "the victim must see its own secret: \(answer.text)")
        #expect(json["marker"] as? String == marker, "the victim must see its marker: \(answer.text)")

        let container = try #require(try await platform.container(of: name), "no container of the victim")
        let hostPID = try #require(try await platform.hostPID(ofContainer: container), "no host pid for \(container)")
        let codeRoot = platform.dataDirectory + "/code"
        let codeDirectory = try #require(
            try FileManager.default.contentsOfDirectory(atPath: codeRoot).map { codeRoot + "/" + $0 }.first { directory in
                (try? String(contentsOfFile: directory + "/handler.py", encoding: .utf8))?.contains("VICTIM_MARKER") == true
            },
            "the victim's code is not under \(codeRoot)"
        )
        let secretHostPath = platform.host.bundles + "/" + container + "/secrets/" + secretName
        // The targets are real: the host holds them (with gVisor, the host pid is the sandbox's,
        // whose environment is not the function's).
        #expect(FileManager.default.fileExists(atPath: secretHostPath), "no secret at \(secretHostPath)")
        if tier == .standard {
            let environ = (try? Data(contentsOf: URL(fileURLWithPath: "/proc/\(hostPID)/environ"))) ?? Data()
            #expect(String(decoding: environ, as: UTF8.self).contains(marker), "the victim's host process has no marker")
        }
        return Victim(
            container: container, hostPID: hostPID, marker: marker, secretValue: secretValue, codeDirectory: codeDirectory,
            secretHostPath: secretHostPath
        )
    }

    /// After the attacks: the same instance still serves and still sees its secret and marker.
    func check(on platform: TestPlatform) async throws -> String {
        let answer = try await platform.call(Self.name, timeout: .seconds(30))
        guard answer.status == 200, let json = try? answer.json() else { return "\(answer.status) \(answer.text.prefix(80))" }
        guard json["hostname"] as? String == container else { return "another instance: \(json["hostname"] ?? "?") (was \(container))" }
        guard json["secret"] as? String == secretValue, json["marker"] as? String == marker else { return "secret or marker changed" }
        return "same instance, secret and marker"
    }
}
