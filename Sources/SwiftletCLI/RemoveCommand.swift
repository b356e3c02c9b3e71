import ArgumentParser
import Foundation
import NIOCore
import SwiftletCore

/// `swiftlet remove NAME`: deletes a function and its instances.
struct RemoveCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "remove", abstract: "Remove a function and its instances.", aliases: ["rm"])

    @OptionGroup var gatewayOptions: GatewayOptions

    @Argument(help: "The function's name.")
    var name: String

    func run() async throws {
        try await runClient {
            try FunctionName.validate(name)
            let client = try gatewayOptions.client()
            let body = ByteBuffer(bytes: try JSONEncoder().encode(DeleteFunctionRequest(functionName: name)))
            let answer = try await client.send(.DELETE, "/system/functions", body: body, headers: [("Content-Type", "application/json")])
            try client.check(answer, "remove '\(name)' failed")
            print("removed \(name)")
        }
    }
}
