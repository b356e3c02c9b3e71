import ArgumentParser
import Foundation
import NIOCore
import SwiftletCore
import SwiftletProviders

/// `swiftlet image …`: the image store of a running Swiftlet.
struct ImageCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "image",
        abstract: "Manage the images functions run from.",
        subcommands: [Import.self, Pull.self, List.self, Remove.self, GC.self]
    )

    struct Import: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Import a `docker save` or OCI-layout tarball.")
        @OptionGroup var gatewayOptions: GatewayOptions
        @Argument(help: "The tarball.") var file: String
        @Option(name: .long, help: "The reference to store it under (overrides the name it carries).") var tag: String?

        func run() async throws {
            try await runClient {
                let client = try gatewayOptions.client()
                var path = "/system/images/import"
                if let tag { path += "?tag=" + (tag.addingPercentEncoding(withAllowedCharacters: .alphanumerics.union(.init(charactersIn: "-._~"))) ?? tag) }
                let answer = try await client.upload(file, to: path)
                try client.check(answer, "import of \(file) failed")
                for image in try client.decode([ImageSummary].self, answer) {
                    print("imported \(image.reference) (\(image.digest))")
                }
            }
        }
    }

    struct Pull: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Pull an image from a registry into the store.")
        @OptionGroup var gatewayOptions: GatewayOptions
        @Argument(help: "The reference, like ghcr.io/openfaas/figlet:latest.") var reference: String
        @Flag(name: .long, help: "Use plain HTTP for the registry.") var insecure = false
        @Option(name: .long, help: "Registry user name (the password is read from $SWIFTLET_REGISTRY_PASSWORD).") var username: String?

        func run() async throws {
            try await runClient {
                let client = try gatewayOptions.client()
                var request: [String: Any] = ["reference": reference, "insecure": insecure]
                if let username {
                    request["username"] = username
                    request["password"] = ProcessInfo.processInfo.environment["SWIFTLET_REGISTRY_PASSWORD"] ?? ""
                }
                let body = ByteBuffer(bytes: try JSONSerialization.data(withJSONObject: request))
                var failure: String?
                var done: String?
                let status = try await client.streamLines("/system/images/pull", body: body) { line in
                    guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: String] else {
                        failure = line
                        return
                    }
                    if let progress = object["progress"] {
                        FileHandle.standardError.write(Data((progress + "\n").utf8))
                    } else if let error = object["error"] {
                        failure = error
                    } else if let reference = object["reference"] {
                        done = "pulled \(reference) (\(object["digest"] ?? ""))"
                    }
                }
                if status == 401 {
                    throw SwiftletError(.unauthorized, "the gateway refused the credentials; set SWIFTLET_USER/SWIFTLET_PASSWORD or --data-dir")
                }
                if let failure { throw SwiftletError(.unavailable, "pull of \(reference) failed: \(failure)") }
                guard let done else { throw SwiftletError(.unavailable, "pull of \(reference) ended without a result (HTTP \(status))") }
                print(done)
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the images in the store.")
        @OptionGroup var gatewayOptions: GatewayOptions

        func run() async throws {
            try await runClient {
                let client = try gatewayOptions.client()
                let answer = try await client.send(.GET, "/system/images")
                try client.check(answer, "listing images failed")
                let images = try client.decode([ImageSummary].self, answer)
                let rows = [["REFERENCE", "DIGEST", "SIZE"]] + images.map { [$0.reference, String($0.digest.prefix(19)), ByteCountFormatter.string(fromByteCount: $0.size, countStyle: .binary)] }
                printTable(rows)
            }
        }
    }

    struct Remove: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "remove", abstract: "Remove an image reference.", aliases: ["rm"])
        @OptionGroup var gatewayOptions: GatewayOptions
        @Argument(help: "The reference.") var reference: String

        func run() async throws {
            try await runClient {
                let client = try gatewayOptions.client()
                let body = ByteBuffer(bytes: try JSONSerialization.data(withJSONObject: ["reference": reference]))
                let answer = try await client.send(.DELETE, "/system/images", body: body, headers: [("Content-Type", "application/json")])
                try client.check(answer, "remove of \(reference) failed")
                print("removed \(reference)")
            }
        }
    }

    struct GC: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "gc", abstract: "Remove blobs and unpacked images no reference uses.")
        @OptionGroup var gatewayOptions: GatewayOptions
        @Flag(name: .long, help: "Only list what would be removed.") var dryRun = false

        func run() async throws {
            try await runClient {
                let client = try gatewayOptions.client()
                let answer = try await client.send(.POST, "/system/images/gc" + (dryRun ? "?dryRun=true" : ""))
                try client.check(answer, "garbage collection failed")
                let removed = try client.decode([String].self, answer)
                for item in removed { print((dryRun ? "would remove " : "removed ") + item) }
                if removed.isEmpty { print("nothing to remove") }
            }
        }
    }
}
