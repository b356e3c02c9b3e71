import ArgumentParser
import AsyncHTTPClient
import Foundation
import NIOCore
import SwiftletCore
import SwiftletLogs

/// `swiftlet logs NAME [-f] [--tail N] [--since 5m]`: a function's instance logs.
struct LogsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "logs", abstract: "Print a function's instance logs (stdout and stderr), optionally following new lines."
    )

    @OptionGroup var gatewayOptions: GatewayOptions

    @Argument(help: "The function.")
    var name: String

    @Flag(name: [.short, .long], help: "Keep printing new lines (also from instances started later) until interrupted.")
    var follow: Bool = false

    @Option(name: .long, help: "Only the last N lines (0 or less: all).")
    var tail: Int?

    @Option(name: .long, help: "Only lines from this long ago (like 5m, 2h) or since an RFC 3339 time.")
    var since: String?

    @Option(name: .long, help: "Only lines of this instance.")
    var instance: String?

    @Flag(name: .long, help: "Print the NDJSON lines the gateway sends.")
    var json: Bool = false

    func validate() throws {
        if let since { _ = try Self.sinceTimestamp(since) }
    }

    /// `since` as RFC 3339: a duration back from now, or a time given as is.
    static func sinceTimestamp(_ text: String, now: Int64 = RFC3339.now()) throws -> String {
        if RFC3339.parse(text) != nil { return text }
        guard let duration = try? ResourceQuantity.duration(text), duration >= .zero else {
            throw ValidationError("--since '\(text.prefix(40))' must be a duration like 30s, 5m or 2h, or an RFC 3339 time")
        }
        let (seconds, attoseconds) = duration.components
        let (back, overflow) = seconds.multipliedReportingOverflow(by: 1_000_000_000)
        guard !overflow, back < now else { return RFC3339.format(0) }
        return RFC3339.format(now - back - attoseconds / 1_000_000_000)
    }

    func run() async throws {
        try await runClient {
            try FunctionName.validate(name)
            var components = URLComponents()
            components.path = "/system/logs"
            var items = [URLQueryItem(name: "name", value: name), URLQueryItem(name: "follow", value: follow ? "true" : "false")]
            if let tail { items.append(URLQueryItem(name: "tail", value: String(tail))) }
            if let since { items.append(URLQueryItem(name: "since", value: try Self.sinceTimestamp(since))) }
            if let instance { items.append(URLQueryItem(name: "instance", value: instance)) }
            components.queryItems = items
            let client = try gatewayOptions.client()
            var request = HTTPClientRequest(
                url: client.baseURL + components.percentEncodedPath + "?" + (components.percentEncodedQuery ?? ""))
            client.addAuthorization(to: &request)
            let response: HTTPClientResponse
            do {
                response = try await GatewayClient.http.execute(request, timeout: follow ? .hours(24 * 365) : .minutes(5))
            } catch {
                throw SwiftletError(.unavailable, "cannot reach the gateway at \(client.baseURL) (\(error)); is `swiftlet up` running?")
            }
            guard response.status.code == 200 else {
                let body = try await response.body.collect(upTo: 64 * 1024)
                try client.check(
                    .init(status: Int(response.status.code), headers: response.headers, body: body), "reading the logs of '\(name)' failed")
                return
            }
            var pending = ByteBuffer()
            for try await chunk in response.body {
                var chunk = chunk
                pending.writeBuffer(&chunk)
                while let newline = pending.readableBytesView.firstIndex(of: UInt8(ascii: "\n")) {
                    let line = pending.readString(length: newline - pending.readerIndex) ?? ""
                    pending.moveReaderIndex(forwardBy: 1)
                    printLine(line)
                }
            }
        }
    }

    private struct Line: Decodable {
        var name: String
        var instance: String
        var timestamp: String
        var text: String
    }

    private func printLine(_ line: String) {
        guard !line.isEmpty else { return }
        if json {
            print(line)
        } else if let decoded = try? JSONDecoder().decode(Line.self, from: Data(line.utf8)) {
            print("\(decoded.timestamp) \(decoded.name) (\(decoded.instance)) \(decoded.text)")
        } else {
            print(line)
        }
        fflush(nil)
    }
}
