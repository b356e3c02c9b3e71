import Logging
import SwiftletSandbox

/// Writes every line an instance prints to the platform's log, tagged with the function, the
/// instance and the stream.
struct LoggerLogSink: InstanceLogSink {
    let logger: Logger

    func line(function: String, instance: String, stream: LogStream, text: String) {
        logger.info(
            "\(text)",
            metadata: ["swiftlet.function": "\(function)", "swiftlet.instance": "\(instance)", "swiftlet.stream": "\(stream.rawValue)"]
        )
    }
}
