import ArgumentParser
import Foundation
import SwiftletCore

/// `swiftlet call ID`: one async call, its status and its answer; `--retry` re-queues it.
struct CallCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "call", abstract: "Show an async call and its answer, or re-queue a dead or failed one with --retry."
    )

    @OptionGroup var gatewayOptions: GatewayOptions

    @Argument(help: "The call id (X-Call-Id).")
    var id: String

    @Flag(name: .long, help: "Print only the function's answer body, byte for byte.")
    var body: Bool = false

    @Flag(name: .long, help: "Re-queue a dead or failed call with fresh attempts.")
    var retry: Bool = false

    func validate() throws {
        guard !id.isEmpty, id.utf8.count <= 128, id.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F }) else {
            throw ValidationError("the call id must be 1 to 128 printable characters without spaces")
        }
        if body, retry { throw ValidationError("use either --body or --retry") }
    }

    func run() async throws {
        try await runClient {
            let client = try gatewayOptions.client()
            let escaped = id.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed.subtracting(CharacterSet(charactersIn: "/"))) ?? id
            if retry {
                let answer = try await client.send(.POST, "/system/async/\(escaped)/retry")
                try client.check(answer, "re-queueing call \(id) failed")
                print("call \(id) queued again")
                return
            }
            let answer = try await client.send(.GET, "/system/async/\(escaped)")
            try client.check(answer, "reading call \(id) failed")
            let call = try client.decode(AsyncCallReport.self, answer)
            if body {
                if let data = call.resultBody { FileHandle.standardOutput.write(data) }
                return
            }
            var lines: [(String, String)] = [
                ("call", call.callId), ("function", call.function), ("status", call.status.rawValue),
                ("attempts", "\(call.attempts) of \(call.maxAttempts)"), ("request", "\(call.request.method) \(call.request.path) (\(call.request.bodyBytes) bytes)"),
                ("created", call.createdAt),
            ]
            if let next = call.nextAttemptAt { lines.append(("next attempt", next)) }
            if let started = call.startedAt { lines.append(("started", started)) }
            if let finished = call.finishedAt { lines.append(("finished", finished)) }
            if let error = call.lastError { lines.append(("last error", error)) }
            if let callback = call.callback {
                lines.append(("callback", "\(callback.url): \(callback.status.rawValue), \(callback.attempts) attempt(s)" + (callback.lastError.map { "; \($0)" } ?? "")))
            }
            if let result = call.result {
                lines.append(("answer", "HTTP \(result.status), \(result.bodyBytes) bytes in \(String(format: "%.3f", result.durationSeconds)) s"))
            }
            printFields(lines)
            if let result = call.result, let text = result.body, result.bodyEncoding == "utf8", !text.isEmpty {
                print("")
                print(text.hasSuffix("\n") ? String(text.dropLast()) : text)
            } else if call.result?.bodyEncoding == "base64" {
                print("\n(the answer is binary; `swiftlet call \(id) --body` writes it out)")
            }
        }
    }
}
