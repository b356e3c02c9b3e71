import ArgumentParser
import Foundation
import NIOCore
import NIOHTTP1
import SwiftletCore

/// `swiftlet secret …`: the secrets functions read at `/var/openfaas/secrets/<name>`.
struct SecretCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "secret",
        abstract: "Manage the secrets functions read at /var/openfaas/secrets/NAME.",
        discussion: """
            swiftlet secret create db-pass --from-literal hunter2
            swiftlet secret create tls-key --from-file ./key.pem
            printf %s "$TOKEN" | swiftlet secret create api-token
            swiftlet secret list
            swiftlet secret update db-pass --from-literal new-value   # rolls the functions using it
            swiftlet secret remove db-pass                            # refused while functions use it
            """,
        subcommands: [Create.self, List.self, Update.self, Remove.self],
        aliases: ["secrets"]
    )

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create a secret; its value comes from --from-literal, --from-file or stdin.")
        @OptionGroup var gatewayOptions: GatewayOptions
        @Argument(help: "The secret's name (lower-case letters, digits and '-').") var name: String
        @OptionGroup var source: SecretValueSource

        func run() async throws {
            try await runClient {
                try await SecretCommand.send(.POST, name: name, source: source, gatewayOptions: gatewayOptions, what: "create")
                print("created secret \(name)")
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the secrets (names only; values are never shown).", aliases: ["ls"])
        @OptionGroup var gatewayOptions: GatewayOptions

        func run() async throws {
            try await runClient {
                let client = try gatewayOptions.client()
                let answer = try await client.send(.GET, "/system/secrets")
                try client.check(answer, "listing secrets failed")
                let secrets = try client.decode([SecretInfo].self, answer)
                let rows = [["NAME", "NAMESPACE"]] + secrets.map { [$0.name, $0.namespace] }
                let width = (rows.map { $0[0].count }.max() ?? 0) + 2
                for row in rows {
                    print(row[0].padding(toLength: width, withPad: " ", startingAt: 0) + row[1])
                }
            }
        }
    }

    struct Update: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Change a secret's value; the functions that use it are rolled so new instances read it."
        )
        @OptionGroup var gatewayOptions: GatewayOptions
        @Argument(help: "The secret's name.") var name: String
        @OptionGroup var source: SecretValueSource

        func run() async throws {
            try await runClient {
                try await SecretCommand.send(.PUT, name: name, source: source, gatewayOptions: gatewayOptions, what: "update")
                print("updated secret \(name)")
            }
        }
    }

    struct Remove: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Remove a secret no function uses.", aliases: ["rm"])
        @OptionGroup var gatewayOptions: GatewayOptions
        @Argument(help: "The secret's name.") var name: String

        func run() async throws {
            try await runClient {
                try Secret.validateName(name)
                let client = try gatewayOptions.client()
                let body = ByteBuffer(bytes: try JSONEncoder().encode(DeleteSecretRequest(name: name)))
                let answer = try await client.send(.DELETE, "/system/secrets", body: body, headers: [("Content-Type", "application/json")])
                try client.check(answer, "remove of secret '\(name)' failed")
                print("removed secret \(name)")
            }
        }
    }

    /// Sends a `Secret` body for `name` with the value `source` gives.
    static func send(_ method: HTTPMethod, name: String, source: SecretValueSource, gatewayOptions: GatewayOptions, what: String) async throws {
        try Secret.validateName(name)
        let secret = try source.secret(named: name)
        let client = try gatewayOptions.client()
        let body = ByteBuffer(bytes: try JSONEncoder().encode(secret))
        let answer = try await client.send(method, "/system/secrets", body: body, headers: [("Content-Type", "application/json")])
        try client.check(answer, "\(what) of secret '\(name)' failed")
    }
}

/// Where a secret's value comes from: `--from-literal`, `--from-file`, or stdin when neither.
struct SecretValueSource: ParsableArguments {
    @Option(name: .customLong("from-literal"), help: "The value as text.")
    var literal: String?

    @Option(name: .customLong("from-file"), help: "A file whose bytes are the value (sent as rawValue, byte for byte).")
    var file: String?

    func validate() throws {
        guard literal == nil || file == nil else {
            throw ValidationError("give the value with either --from-literal or --from-file, not both")
        }
    }

    /// The request body for the secret `name`: text as `value`; file and stdin bytes as
    /// `rawValue` (base64), exactly as read.
    func secret(named name: String) throws -> Secret {
        if let literal {
            guard literal.utf8.count <= Secret.maxValueBytes else { throw Self.tooLarge(literal.utf8.count) }
            return Secret(name: name, value: literal)
        }
        let bytes: Data
        if let file {
            guard let handle = FileHandle(forReadingAtPath: file) else {
                throw SwiftletError(.invalidInput, "cannot read \(file); check that the file exists and is readable")
            }
            defer { try? handle.close() }
            bytes = try Self.read(handle, what: file)
        } else {
            guard isatty(STDIN_FILENO) == 0 else {
                throw SwiftletError(.invalidInput, "give the value with --from-literal VALUE, --from-file FILE, or pipe it on stdin")
            }
            bytes = try Self.read(FileHandle.standardInput, what: "stdin")
        }
        return Secret(name: name, rawValue: bytes.base64EncodedString())
    }

    /// Reads `handle` to its end, refusing more than the size limit without reading it all.
    private static func read(_ handle: FileHandle, what: String) throws -> Data {
        var bytes = Data()
        do {
            while let chunk = try handle.read(upToCount: 64 * 1024), !chunk.isEmpty {
                bytes += chunk
                guard bytes.count <= Secret.maxValueBytes else {
                    throw SwiftletError(.tooLarge, "the secret value in \(what) is larger than the limit of \(Secret.maxValueBytes) bytes (1 MiB)")
                }
            }
        } catch let error as SwiftletError {
            throw error
        } catch {
            throw SwiftletError(.invalidInput, "cannot read \(what): \(error.localizedDescription); check that it is a readable file")
        }
        return bytes
    }

    private static func tooLarge(_ size: Int) -> SwiftletError {
        SwiftletError(.tooLarge, "the secret value is \(size) bytes; the limit is \(Secret.maxValueBytes) bytes (1 MiB)")
    }
}
