import ArgumentParser
import SwiftletCore

/// Runs a client command body, turning Swiftlet errors into one line on stderr and exit 1.
func runClient(_ body: () async throws -> Void) async throws {
    do {
        try await body()
    } catch let error as SwiftletError {
        printError(error.message)
        throw ExitCode.failure
    }
}
