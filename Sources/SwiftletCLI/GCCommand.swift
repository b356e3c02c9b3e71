import ArgumentParser
import Foundation
import Logging
import SwiftletCore
import SwiftletDocker
import SwiftletStore

/// `swiftlet gc [--dry-run]`: removes what this platform left in the Docker engine that its
/// store no longer explains (containers of removed functions, stopped containers, networks of
/// functions without egress). Running instances of deployed functions are never touched, so it
/// is safe while `swiftlet up --provider docker` runs.
struct GCCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gc",
        abstract: "Remove orphaned containers and networks of this platform from the Docker engine.",
        discussion: """
            swiftlet gc --dry-run   # list what would be removed, and why
            swiftlet gc             # remove it
            Only objects labelled com.swiftlet.platform=<this data directory> are considered.
            The engine is $DOCKER_HOST (default unix:///var/run/docker.sock). `swiftlet up
            --provider docker` does the same at every start (and adopts running instances);
            the native provider removes its leftovers at every start by itself.
            """
    )

    @Option(name: .long, help: "The data directory (default: $SWIFTLET_DATA_DIR or /var/lib/swiftlet).")
    var dataDir: String?

    @Flag(name: .long, help: "Only list what would be removed.")
    var dryRun = false

    func run() async throws {
        do {
            try await collect()
        } catch let error as SwiftletError {
            printError(error.message)
            throw ExitCode.failure
        }
    }

    private func collect() async throws {
        let dataDirectory = DataDirectory(option: dataDir)
        guard FileManager.default.fileExists(atPath: dataDirectory.database) else {
            throw SwiftletError(.notFound, "no Swiftlet data in \(dataDirectory.path) (no swiftlet.db); pass the --data-dir `swiftlet up` uses")
        }
        var logger = Logger(label: "swiftlet-gc")
        logger.logLevel = .warning
        let store = try SQLiteStore(path: dataDirectory.database, logger: logger)
        let endpoint = try DockerEndpoint(dockerHost: ProcessInfo.processInfo.environment["DOCKER_HOST"])
        let provider = try DockerProvider(
            configuration: .init(dataDirectory: dataDirectory.path, endpoint: endpoint), codeSource: store, sink: LoggerLogSink(logger: logger),
            knownFunctions: { try await store.allFunctions() }, logger: logger
        )
        do {
            try await provider.engine.ping()
            let (garbage, _) = try await provider.garbage(platformStopped: false)
            if garbage.isEmpty {
                print("nothing to remove (platform \(provider.platformID) at \(endpoint))")
            } else {
                printTable([["KIND", "NAME", "ID", "REASON"]] + garbage.map { [$0.kind, $0.name, String($0.id.prefix(12)), $0.reason] })
                if dryRun {
                    print("\(garbage.count) object(s) would be removed; run `swiftlet gc` without --dry-run to remove them")
                } else {
                    try await provider.remove(garbage)
                    print("removed \(garbage.count) object(s)")
                }
            }
        } catch {
            await provider.close()
            throw error
        }
        await provider.close()
    }
}
