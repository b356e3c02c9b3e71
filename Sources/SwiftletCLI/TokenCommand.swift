import ArgumentParser
import Foundation
import NIOCore
import SwiftletCore

/// `swiftlet token …`: API tokens with scopes, for CI jobs and callers of protected functions.
struct TokenCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "token",
        abstract: "Manage API tokens (admin, deploy, invoke:FUNCTION).",
        discussion: """
            swiftlet token create ci --scope deploy                 # prints the token once
            swiftlet token create caller --scope invoke:hello      # may call hello when it has com.swiftlet.auth=true
            swiftlet token list
            swiftlet token revoke ci                                # by name or id; immediate
            SWIFTLET_TOKEN=swl_… swiftlet deploy …                 # use a token instead of basic auth
            """,
        subcommands: [Create.self, List.self, Revoke.self],
        aliases: ["tokens"]
    )

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create a token; it is printed once and cannot be shown again.")
        @OptionGroup var gatewayOptions: GatewayOptions
        @Argument(help: "A name for it (letters, digits, '.', '_', '-').") var name: String
        @Option(name: .customLong("scope"), help: "admin, deploy, invoke:FUNCTION or invoke:* (repeatable).") var scopes: [String] = []

        func run() async throws {
            try await runClient {
                guard !scopes.isEmpty else {
                    throw SwiftletError(.invalidInput, "give at least one --scope: admin, deploy, invoke:FUNCTION or invoke:*")
                }
                for scope in scopes { _ = try TokenScope(parsing: scope) }
                let client = try gatewayOptions.client()
                let body = try JSONSerialization.data(withJSONObject: ["name": name, "scopes": scopes])
                let answer = try await client.send(.POST, "/system/tokens", body: ByteBuffer(bytes: body), headers: [("Content-Type", "application/json")])
                try client.check(answer, "creating token '\(name)' failed")
                let created = try client.decode(APITokenListing.self, answer)
                print(created.token ?? "")
                FileHandle.standardError.write(Data("created token \(created.name) (id \(created.id), scopes \(created.scopes.map(\.description).joined(separator: ", "))); it is not shown again\n".utf8))
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the tokens (never their secrets).", aliases: ["ls"])
        @OptionGroup var gatewayOptions: GatewayOptions

        func run() async throws {
            try await runClient {
                let client = try gatewayOptions.client()
                let answer = try await client.send(.GET, "/system/tokens")
                try client.check(answer, "listing tokens failed")
                let tokens = try client.decode([APITokenListing].self, answer)
                printTable([["ID", "NAME", "SCOPES", "CREATED", "LAST USED"]] + tokens.map {
                    [$0.id, $0.name, $0.scopes.map(\.description).joined(separator: ","), $0.createdAt, $0.lastUsedAt ?? "never"]
                })
            }
        }
    }

    struct Revoke: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Revoke a token by name or id, at once.", aliases: ["rm", "remove"])
        @OptionGroup var gatewayOptions: GatewayOptions
        @Argument(help: "The token's name or id.") var token: String

        func run() async throws {
            try await runClient {
                guard !token.isEmpty, token.utf8.count <= 128, !token.contains("/") else {
                    throw SwiftletError(.invalidInput, "'\(token.prefix(64))' is not a token name or id")
                }
                let client = try gatewayOptions.client()
                let escaped = token.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed) ?? token
                let answer = try await client.send(.DELETE, "/system/tokens/" + escaped)
                try client.check(answer, "revoking token '\(token)' failed")
                print("revoked token \(token)")
            }
        }
    }
}
