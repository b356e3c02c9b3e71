import ArgumentParser
import SwiftletCore

/// `swiftlet describe NAME`: one function's status.
struct DescribeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "describe", abstract: "Show one function's status.")

    @OptionGroup var gatewayOptions: GatewayOptions

    @Argument(help: "The function's name.")
    var name: String

    func run() async throws {
        try await runClient {
            try FunctionName.validate(name)
            let client = try gatewayOptions.client()
            let answer = try await client.send(.GET, "/system/function/\(name)")
            try client.check(answer, "describe '\(name)' failed")
            let status = try client.decode(FunctionStatus.self, answer)
            var lines = [
                ("Name", status.name), ("Runtime", status.runtime ?? status.image), ("Namespace", status.namespace),
                ("Replicas", String(status.replicas)), ("Available", String(status.availableReplicas)),
                ("Invocations", String(Int(status.invocationCount))), ("Created", status.createdAt),
                ("URL", "\(gatewayOptions.baseURL)/function/\(status.name)"),
            ]
            if status.debug == true {
                lines.append(("Debug", "on (one instance, exec timeout 1h)"))
                let debuggers = (status.annotations ?? [:]).filter { $0.key.hasPrefix(DebugMode.annotationPrefix) }
                for (key, endpoint) in debuggers.sorted(by: { $0.key < $1.key }) {
                    lines.append(("Debugger", "\(key.dropFirst(DebugMode.annotationPrefix.count)) at \(endpoint)"))
                }
                if debuggers.isEmpty { lines.append(("Debugger", "not listening yet (no running instance)")) }
            }
            if let digest = status.codeDigest { lines.append(("Code", "sha256:" + digest)) }
            if let memory = status.limits?.memory { lines.append(("Memory limit", memory)) }
            if let cpu = status.limits?.cpu { lines.append(("CPU limit", cpu)) }
            for (key, value) in (status.envVars ?? [:]).sorted(by: { $0.key < $1.key }) { lines.append(("Env", "\(key)=\(value)")) }
            for (key, value) in status.labels.sorted(by: { $0.key < $1.key }) { lines.append(("Label", "\(key)=\(value)")) }
            printFields(lines)
        }
    }
}
