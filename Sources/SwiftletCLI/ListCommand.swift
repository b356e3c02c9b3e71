import ArgumentParser
import SwiftletCore

/// `swiftlet list`: the deployed functions.
struct ListCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list", abstract: "List the deployed functions.")

    @OptionGroup var gatewayOptions: GatewayOptions

    func run() async throws {
        try await runClient {
            let client = try gatewayOptions.client()
            let answer = try await client.send(.GET, "/system/functions")
            try client.check(answer, "listing functions failed")
            let functions = try client.decode([FunctionStatus].self, answer)
            let rows = [["NAME", "RUNTIME", "REPLICAS", "AVAILABLE", "INVOCATIONS", "MODE"]]
                + functions.map {
                    [
                        $0.name, $0.runtime ?? $0.image, String($0.replicas), String($0.availableReplicas), String(Int($0.invocationCount)),
                        $0.debug == true ? "debug" : "-",
                    ]
                }
            printTable(rows)
        }
    }
}
