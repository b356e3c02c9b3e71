import SwiftletSandbox

/// One line an instance wrote, as the log store keeps it.
public struct LogEntry: Sendable, Equatable, Codable {
    /// When the line was captured, in nanoseconds since the Unix epoch.
    public var timestamp: Int64
    /// The instance that wrote it.
    public var instance: String
    /// `stdout` or `stderr`.
    public var stream: String
    /// The line, without its newline.
    public var text: String

    /// Creates an entry.
    public init(timestamp: Int64, instance: String, stream: LogStream, text: String) {
        self.init(timestamp: timestamp, instance: instance, stream: stream.rawValue, text: text)
    }

    /// Creates an entry with a raw stream name.
    public init(timestamp: Int64, instance: String, stream: String, text: String) {
        self.timestamp = timestamp
        self.instance = instance
        self.stream = stream
        self.text = text
    }

    private enum CodingKeys: String, CodingKey {
        case timestamp = "ts"
        case instance = "i"
        case stream = "s"
        case text = "x"
    }
}
