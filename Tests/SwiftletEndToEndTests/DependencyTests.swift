import Foundation
import NIOCore
import NIOHTTP1
import Testing

extension EndToEnd {
    /// Code functions with their dependencies: requirements.txt built with pip, vendored node_modules.
    @Suite("End to end: dependencies")
    struct DependencyTests {
        static func bundle(_ files: [String: String], in directory: String) throws -> Data {
            for (path, content) in files {
                let full = directory + "/" + path
                try FileManager.default.createDirectory(atPath: (full as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
                try content.write(toFile: full, atomically: false, encoding: .utf8)
            }
            let archive = directory + ".tar.gz"
            defer { try? FileManager.default.removeItem(atPath: archive) }
            try ImageFixture.run("/bin/tar", ["-czf", archive, "-C", directory, "."])
            return try Data(contentsOf: URL(fileURLWithPath: archive))
        }

        @Test("a python function with requirements.txt (pyyaml from PyPI) deploys and answers; bad requirements keep the old version")
        func pythonRequirements() async throws {
            try await TestPlatform.with { platform in
                let work = platform.dataDirectory + "-src"
                defer { try? FileManager.default.removeItem(atPath: work) }
                let handler = """
                    import yaml
                    def handle(event, context):
                        return {"statusCode": 200, "body": yaml.safe_load(event.body or b"a: 1")}
                    """
                let code = try Self.bundle(["handler.py": handler, "requirements.txt": "pyyaml==6.0.1  # YAML\n"], in: work + "/v1")
                let deploy = try await platform.deploy("yamly", runtime: "python3", code: code)
                #expect(deploy.status == 202, "\(deploy.text)")
                let answer = try await platform.call("yamly", method: .POST, body: ByteBuffer(string: "name: swiftlet\nitems: [1, 2]\n"))
                #expect(answer.status == 200, "\(answer.text)")
                #expect(try answer.json()["name"] as? String == "swiftlet")
                let layers = try FileManager.default.contentsOfDirectory(atPath: platform.dataDirectory + "/deps")
                #expect(layers.count == 1, "one shared layer: \(layers)")

                for (label, requirements, message) in [
                    ("unknown package", "swiftlet-no-such-package-zzz==1.0\n", "installing requirements.txt failed"),
                    ("option", "-r /etc/shadow\n", "not a plain requirement"),
                    ("index", "--index-url http://127.0.0.1:1/simple\npyyaml\n", "not a plain requirement"),
                    ("url", "yaml @ https://127.0.0.1:1/x.whl\n", "not a plain requirement"),
                    ("path", "../../etc\n", "not a plain requirement"),
                ] {
                    let bad = try Self.bundle(["handler.py": handler, "requirements.txt": requirements], in: work + "/" + label.replacingOccurrences(of: " ", with: "-"))
                    let update = try await platform.deploy("yamly", runtime: "python3", code: bad, method: .PUT)
                    #expect(update.status == 400, "\(label): \(update.status) \(update.text)")
                    #expect(update.text.contains(message), "\(label): \(update.text)")
                }
                // The previous version keeps serving.
                #expect(try await platform.call("yamly", method: .POST, body: ByteBuffer(string: "k: v")).text.contains("\"k\":\"v\""))
                #expect(try FileManager.default.contentsOfDirectory(atPath: platform.dataDirectory + "/deps").count == 1)
            }
        }

        @Test("a node bundle with a vendored node_modules works as shipped")
        func nodeModules() async throws {
            try await TestPlatform.with { platform in
                let work = platform.dataDirectory + "-node"
                defer { try? FileManager.default.removeItem(atPath: work) }
                let code = try Self.bundle(
                    [
                        "handler.js": "const shout = require('shout');\nmodule.exports = async (event) => shout(String(event.body));\n",
                        "package.json": #"{"name":"fn","version":"1.0.0","dependencies":{"shout":"1.0.0"}}"#,
                        "node_modules/shout/package.json": #"{"name":"shout","version":"1.0.0","main":"lib/index.js"}"#,
                        "node_modules/shout/lib/index.js": "module.exports = (s) => s.toUpperCase() + '!';\n",
                    ],
                    in: work
                )
                #expect(try await platform.deploy("shouty", runtime: "node", code: code).status == 202)
                let answer = try await platform.call("shouty", method: .POST, body: ByteBuffer(string: "hello"), headers: [("Content-Type", "text/plain")])
                #expect(answer.text == "HELLO!", "\(answer.text)")
            }
        }
    }
}
