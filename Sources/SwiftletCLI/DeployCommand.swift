import ArgumentParser
import Foundation
import NIOCore
import SwiftletCore

/// `swiftlet deploy NAME --runtime python3 --code PATH`: creates or updates a code function.
struct DeployCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "deploy",
        abstract: "Deploy (or update) a code function from a handler file or a folder."
    )

    @OptionGroup var gatewayOptions: GatewayOptions

    @Argument(help: "The function's name (lower-case letters, digits and '-').")
    var name: String

    @Option(name: .long, help: "The runtime: python3 or node.")
    var runtime: String

    @Option(name: .long, help: "A handler file, or a folder holding the handler file at its root (packed as .tar.gz).")
    var code: String

    @Option(name: .customLong("env"), help: "An environment variable KEY=VALUE (repeatable).")
    var env: [String] = []

    @Option(name: .customLong("label"), help: "A label KEY=VALUE (repeatable).")
    var labels: [String] = []

    @Option(name: .long, help: "Memory limit, like 128Mi.")
    var memory: String?

    @Option(name: .long, help: "CPU limit, like 500m or 1.")
    var cpu: String?

    func run() async throws {
        try await runClient {
            try FunctionName.validate(name)
            let packed = try CodePacker.pack(path: code)
            var deployment = FunctionDeployment(
                service: name, runtime: runtime, code: packed.base64EncodedString()
            )
            deployment.envVars = try Self.pairs(env, what: "--env")
            deployment.labels = try Self.pairs(labels, what: "--label")
            if memory != nil || cpu != nil {
                deployment.limits = FunctionResources(memory: memory, cpu: cpu)
            }
            let body = ByteBuffer(bytes: try JSONEncoder().encode(deployment))
            let client = try gatewayOptions.client()
            // As faas-cli does: update first, create when the function does not exist.
            var answer = try await client.send(.PUT, "/system/functions", body: body, headers: [("Content-Type", "application/json")])
            var verb = "updated"
            if answer.status == 404 {
                answer = try await client.send(.POST, "/system/functions", body: body, headers: [("Content-Type", "application/json")])
                verb = "deployed"
            }
            try client.check(answer, "deploy of '\(name)' failed")
            print("\(verb) \(name) (\(runtime)); call it at \(gatewayOptions.baseURL)/function/\(name)")
        }
    }

    static func pairs(_ items: [String], what: String) throws -> [String: String]? {
        guard !items.isEmpty else { return nil }
        var result: [String: String] = [:]
        for item in items {
            guard let eq = item.firstIndex(of: "="), eq != item.startIndex else {
                throw SwiftletError(.invalidInput, "\(what) '\(item)' must look like KEY=VALUE")
            }
            result[String(item[..<eq])] = String(item[item.index(after: eq)...])
        }
        return result
    }
}
