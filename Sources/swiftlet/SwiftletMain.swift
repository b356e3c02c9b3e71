import Logging
import SwiftletCLI

/// The entry point: bootstraps logging (only the executable does) and runs the command.
@main
enum SwiftletMain {
    static func main() async {
        LoggingSystem.bootstrap(StreamLogHandler.standardError)
        await SwiftletCommand.main(nil)
    }
}
