import SwiftletSandbox

/// Hands every captured line to several sinks in turn (e.g. the platform log and the log store).
public struct CombinedLogSink: InstanceLogSink {
    /// The sinks, in order.
    public let sinks: [any InstanceLogSink]

    /// Creates a sink that forwards to `sinks`.
    public init(_ sinks: [any InstanceLogSink]) {
        self.sinks = sinks
    }

    /// Forwards the line to every sink.
    public func line(function: String, instance: String, stream: LogStream, text: String) {
        for sink in sinks { sink.line(function: function, instance: instance, stream: stream, text: text) }
    }
}
