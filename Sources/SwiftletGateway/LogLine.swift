import Foundation
import NIOCore
import SwiftletCore
import SwiftletLogs

/// One line of `GET /system/logs` (NDJSON) and of the logs WebSocket, as OpenFaaS writes it.
struct LogLine: Codable, Sendable {
    var name: String
    var namespace: String
    var instance: String
    var timestamp: String
    var text: String

    init(function: String, entry: LogEntry) {
        self.name = function
        self.namespace = FunctionName.defaultNamespace
        self.instance = entry.instance
        self.timestamp = RFC3339.format(entry.timestamp)
        self.text = entry.text
    }

    /// The line as JSON without a trailing newline.
    func json() -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let data = (try? encoder.encode(self)) ?? Data("{}".utf8)
        return String(decoding: data, as: UTF8.self)
    }
}
