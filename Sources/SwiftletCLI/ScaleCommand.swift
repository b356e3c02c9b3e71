import ArgumentParser
import Foundation
import NIOCore
import SwiftletCore

/// `swiftlet scale NAME REPLICAS`: sets a function's number of instances (the OpenFaaS scale
/// API); the autoscaler may change it again as the load changes.
struct ScaleCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "scale",
        abstract: "Set the number of instances of a function.",
        discussion: """
            swiftlet scale hello 3   # 3 instances (between scale.min and scale.max)
            swiftlet scale hello 0   # none (needs com.openfaas.scale.zero=true)
            The autoscaler keeps adjusting the count to the load afterwards;
            a call to a function at zero wakes it.
            """
    )

    @OptionGroup var gatewayOptions: GatewayOptions

    @Argument(help: "The function's name.")
    var name: String

    @Argument(help: "The number of instances (0 or more).")
    var replicas: String

    /// The body of `POST /system/scale-function/{name}`.
    private struct ScaleRequest: Encodable {
        var serviceName: String
        var replicas: Int
    }

    func run() async throws {
        try await runClient {
            try FunctionName.validate(name)
            // Parsed here rather than by ArgumentParser, so a bad count is a one-line error too.
            guard !replicas.isEmpty, replicas.allSatisfy(\.isASCII), replicas.allSatisfy(\.isNumber), let count = Int(replicas) else {
                throw SwiftletError(.invalidInput, "REPLICAS must be a whole number of 0 or more, not '\(replicas.prefix(40))'")
            }
            let client = try gatewayOptions.client()
            let body = ByteBuffer(bytes: try JSONEncoder().encode(ScaleRequest(serviceName: name, replicas: count)))
            let answer = try await client.send(
                .POST, "/system/scale-function/\(name)", body: body, headers: [("Content-Type", "application/json")]
            )
            try client.check(answer, "scale '\(name)' failed")
            print("scaled \(name) to \(count) replica\(count == 1 ? "" : "s")")
        }
    }
}
