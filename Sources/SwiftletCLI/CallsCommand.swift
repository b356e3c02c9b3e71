import ArgumentParser
import Foundation
import SwiftletCore

/// `swiftlet calls [NAME]`: the newest async calls, with the counts per status.
struct CallsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "calls", abstract: "List async calls, newest first, with how many are in each status."
    )

    @OptionGroup var gatewayOptions: GatewayOptions

    @Argument(help: "Only this function's calls.")
    var name: String?

    @Option(name: .long, help: "Only calls in this status: queued, running, succeeded, failed or dead.")
    var status: String?

    @Option(name: .long, help: "At most this many calls (0 to 1000).")
    var limit: Int = 20

    func validate() throws {
        if let status, AsyncCallStatus(rawValue: status) == nil {
            throw ValidationError("--status must be one of \(AsyncCallStatus.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        guard (0...1000).contains(limit) else { throw ValidationError("--limit must be between 0 and 1000") }
    }

    func run() async throws {
        try await runClient {
            if let name { try FunctionName.validate(name) }
            var components = URLComponents()
            components.path = "/system/async"
            components.queryItems = [URLQueryItem(name: "limit", value: String(limit))]
                + (name.map { [URLQueryItem(name: "function", value: $0)] } ?? [])
                + (status.map { [URLQueryItem(name: "status", value: $0)] } ?? [])
            let client = try gatewayOptions.client()
            let answer = try await client.send(.GET, components.percentEncodedPath + "?" + (components.percentEncodedQuery ?? ""))
            try client.check(answer, "listing async calls failed")
            let list = try client.decode(AsyncCallList.self, answer)
            print(AsyncCallStatus.allCases.map { "\($0.rawValue) \(list.counts[$0.rawValue] ?? 0)" }.joined(separator: "  "))
            guard !list.calls.isEmpty else { return }
            print("")
            printTable(
                [["CALL ID", "FUNCTION", "STATUS", "ATTEMPTS", "HTTP", "CALLBACK", "CREATED"]]
                    + list.calls.map { call in
                        [
                            call.callId, call.function, call.status.rawValue, "\(call.attempts)/\(call.maxAttempts)",
                            call.result.map { String($0.status) } ?? "-", call.callback?.status.rawValue ?? "-", call.createdAt,
                        ]
                    }
            )
        }
    }
}
