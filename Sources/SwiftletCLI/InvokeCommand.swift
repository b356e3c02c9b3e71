import ArgumentParser
import Foundation
import NIOCore
import NIOHTTP1
import SwiftletCore

/// `swiftlet invoke NAME`: calls a function with a body from `--data` or stdin; with `--async`
/// it queues the call and prints its id.
struct InvokeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "invoke",
        abstract: "Call a function; the body comes from --data or stdin, the answer goes to stdout.",
        discussion: "With --async the call is queued durably (POST /async-function/NAME) and its call id is printed; follow it with `swiftlet call ID`."
    )

    @OptionGroup var gatewayOptions: GatewayOptions

    @Argument(help: "The function's name.")
    var name: String

    @Option(name: .long, help: "The request body (otherwise stdin is read when it is not a terminal).")
    var data: String?

    @Option(name: .long, help: "The HTTP method.")
    var method: String = "POST"

    @Option(name: .long, help: "A sub-path after /function/NAME, like /items/1.")
    var path: String = ""

    @Option(name: .customLong("query"), help: "A query parameter KEY=VALUE (repeatable).")
    var query: [String] = []

    @Option(name: [.customShort("H"), .customLong("header")], help: "A header 'Name: value' (repeatable).")
    var headers: [String] = []

    @Flag(name: .long, help: "Print the status line and headers to stderr.")
    var verbose: Bool = false

    @Flag(name: .long, help: "Send credentials ($SWIFTLET_TOKEN, else basic auth) for a function with com.swiftlet.auth=true; never sent otherwise.")
    var auth = false

    @Flag(name: .customLong("async"), help: "Queue the call and print its call id instead of waiting for the answer.")
    var isAsync: Bool = false

    @Option(name: .customLong("callback-url"), help: "With --async: where the result is POSTed when the call finishes.")
    var callbackURL: String?

    func validate() throws {
        if isAsync, method.uppercased() != "POST" {
            throw ValidationError("--async calls are POST requests; drop --method \(method)")
        }
        if callbackURL != nil, !isAsync {
            throw ValidationError("--callback-url needs --async")
        }
    }

    func run() async throws {
        try await runClient {
            try FunctionName.validate(name)
            var body = ByteBuffer()
            if let data {
                body = ByteBuffer(string: data)
            } else if isatty(STDIN_FILENO) == 0 {
                body = ByteBuffer(data: FileHandle.standardInput.readDataToEndOfFile())
            }
            var headerPairs: [(String, String)] = []
            for header in headers {
                guard let colon = header.firstIndex(of: ":") else {
                    throw SwiftletError(.invalidInput, "--header '\(header)' must look like 'Name: value'")
                }
                headerPairs.append((String(header[..<colon]), header[header.index(after: colon)...].trimmingCharacters(in: .whitespaces)))
            }
            var components = URLComponents()
            if let callbackURL {
                headerPairs.append(("X-Callback-Url", try CallbackURL.validate(callbackURL)))
            }
            components.path = (isAsync ? "/async-function/" : "/function/") + name + (path.isEmpty || path.hasPrefix("/") ? path : "/" + path)
            if !query.isEmpty {
                components.queryItems = query.map { item in
                    let parts = item.split(separator: "=", maxSplits: 1)
                    return URLQueryItem(name: String(parts[0]), value: parts.count > 1 ? String(parts[1]) : "")
                }
            }
            let client = try gatewayOptions.client()
            let answer = try await client.send(
                HTTPMethod(rawValue: method.uppercased()), components.percentEncodedPath + (components.percentEncodedQuery.map { "?" + $0 } ?? ""),
                body: body, headers: headerPairs, auth: auth, timeout: .hours(1)
            )
            if verbose {
                var lines = ["HTTP \(answer.status)"]
                for header in answer.headers { lines.append("\(header.name): \(header.value)") }
                FileHandle.standardError.write(Data((lines.joined(separator: "\n") + "\n").utf8))
            }
            if isAsync {
                guard answer.status == 202, let callID = answer.headers.first(name: "X-Call-Id") else {
                    throw SwiftletError(.invalidInput, "queueing a call to '\(name)' failed: \(answer.text.isEmpty ? "HTTP \(answer.status)" : answer.text)")
                }
                print(callID)
                return
            }
            FileHandle.standardOutput.write(Data(answer.body.readableBytesView))
            guard answer.status < 400 else {
                if answer.status == 401 && !auth {
                    throw SwiftletError(.unauthorized, "function '\(name)' requires credentials (com.swiftlet.auth=true): add --auth, with SWIFTLET_TOKEN set to a token with invoke:\(name)")
                }
                throw SwiftletError(.invalidInput, "function '\(name)' answered HTTP \(answer.status)")
            }
        }
    }
}
