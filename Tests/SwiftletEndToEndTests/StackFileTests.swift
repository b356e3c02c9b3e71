import Foundation
import Testing

@testable import SwiftletCLI

/// faas-cli stack files: parsing, substitution, and `swiftlet deploy -f` against a platform.
@Suite("Stack files")
struct StackFileTests {
    @Test("${VAR} and ${VAR:-default} are substituted like envsubst")
    func substitution() {
        let env = ["TAG": "1.2", "EMPTY": ""]
        #expect(StackFile.substitute("image: x:${TAG}", environment: env) == "image: x:1.2")
        #expect(StackFile.substitute("a ${MISSING} b", environment: env) == "a  b")
        #expect(StackFile.substitute("${EMPTY:-dflt} ${TAG:-no}", environment: env) == "dflt 1.2")
        #expect(StackFile.substitute("unterminated ${TAG", environment: env) == "unterminated ${TAG")
    }

    @Test("functions, langs and fields map to deployments; bad files say what is wrong")
    func parsing() throws {
        let yaml = """
            version: 1.0
            provider:
              name: openfaas
              gateway: http://127.0.0.1:9999
            functions:
              py:
                lang: python3-http
                handler: ./py
                environment:
                  write_debug: true
                  exec_timeout: 10s
                labels:
                  com.openfaas.scale.min: 2
                limits:
                  memory: 128Mi
              img:
                image: localhost/web:${TAG:-latest}
                fprocess: cat
                readonly_root_filesystem: true
            """
        let stack = try StackFile.parse(yaml, environment: ["TAG": "7"], baseDirectory: "/tmp")
        #expect(stack.gateway == "http://127.0.0.1:9999")
        #expect(stack.functions.map(\.name) == ["img", "py"])
        let py = try #require(stack.functions.last)
        #expect(py.lang == "python3-http")
        #expect(py.environment == ["write_debug": "true", "exec_timeout": "10s"])
        #expect(py.labels == ["com.openfaas.scale.min": "2"])
        #expect(py.limits?.memory == "128Mi")
        #expect(try StackFile.runtime(forLang: "python3-http") == "python3")
        #expect(try StackFile.runtime(forLang: "node18") == "node")
        #expect(try StackFile.runtime(forLang: "dockerfile") == nil)
        #expect(throws: (any Error).self) { try StackFile.runtime(forLang: "golang-http") }
        let img = try DeployCommand.deployment(try #require(stack.functions.first), baseDirectory: "/tmp")
        #expect(img.image == "localhost/web:7")
        #expect(img.envProcess == "cat")
        #expect(img.readOnlyRootFilesystem == true)

        #expect(throws: (any Error).self) { try StackFile.parse("functions: [1, 2", environment: [:], baseDirectory: "/tmp") }
        #expect(throws: (any Error).self) { try StackFile.parse("provider: {}", environment: [:], baseDirectory: "/tmp") }
        #expect(throws: (any Error).self) { try StackFile.parse("functions:\n  x: 3\n", environment: [:], baseDirectory: "/tmp") }
    }
}

extension EndToEnd {
    @Suite("End to end: swiftlet deploy -f stack.yml")
    struct StackDeployTests {
        @Test("a stack with a python3-http and a node18 function deploys and both answer")
        func deployStack() async throws {
            try await TestPlatform.with { platform in
                let directory = platform.dataDirectory + "-stack"
                defer { try? FileManager.default.removeItem(atPath: directory) }
                try FileManager.default.createDirectory(atPath: directory + "/py", withIntermediateDirectories: true)
                try FileManager.default.createDirectory(atPath: directory + "/js", withIntermediateDirectories: true)
                try """
                    import os
                    def handle(event, context):
                        return {"statusCode": 200, "body": "py " + os.environ.get("COLOR", "?") + " " + os.environ.get("SIZE", "?")}
                    """.write(toFile: directory + "/py/handler.py", atomically: false, encoding: .utf8)
                try "module.exports = async (event, context) => 'js ' + process.env.COLOR\n"
                    .write(toFile: directory + "/js/handler.js", atomically: false, encoding: .utf8)
                try "environment:\n  SIZE: large\n".write(toFile: directory + "/env.yml", atomically: false, encoding: .utf8)
                try """
                    version: 1.0
                    provider:
                      name: openfaas
                      gateway: http://127.0.0.1:1
                    functions:
                      stack-py:
                        lang: python3-http
                        handler: ./py
                        environment_file:
                          - env.yml
                        environment:
                          COLOR: ${COLOR}
                      stack-js:
                        lang: node18
                        handler: ./js
                        environment:
                          COLOR: ${COLOR:-none}
                    """.write(toFile: directory + "/stack.yml", atomically: false, encoding: .utf8)
                let env = ["SWIFTLET_URL": platform.baseURL, "SWIFTLET_USER": "admin", "SWIFTLET_PASSWORD": platform.credentials.password, "COLOR": "blue"]
                let deploy = try await SwiftletBinary.run(["deploy", "-f", directory + "/stack.yml"], environment: env)
                #expect(deploy.status == 0, "\(deploy.stderr)")
                #expect(deploy.stdout.contains("deployed stack-py"))
                #expect(deploy.stdout.contains("deployed stack-js"))
                #expect(try await platform.call("stack-py").text == "py blue large")
                #expect(try await platform.call("stack-js").text == "js blue")
                let filtered = try await SwiftletBinary.run(["deploy", "-f", directory + "/stack.yml", "--filter", "stack-js"], environment: env)
                #expect(filtered.stdout.contains("updated stack-js"), "\(filtered.stderr)")
                #expect(!filtered.stdout.contains("stack-py"))
                let missing = try await SwiftletBinary.run(["deploy", "-f", directory + "/nope.yml"], environment: env)
                #expect(missing.status != 0)
                #expect(missing.stderr.contains("cannot read the stack file"))
            }
        }
    }
}
