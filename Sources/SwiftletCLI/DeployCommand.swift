import ArgumentParser
import Foundation
import NIOCore
import SwiftletCore

/// `swiftlet deploy`: creates or updates functions, from flags or from a faas-cli stack file.
struct DeployCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "deploy",
        abstract: "Deploy (or update) a function from a handler file or folder, an image, or a stack.yml.",
        discussion: """
            swiftlet deploy hello --runtime python3 --code ./hello
            swiftlet deploy web --image localhost/web:1
            swiftlet deploy -f stack.yml [--filter NAME]
            """
    )

    @OptionGroup var gatewayOptions: GatewayOptions

    @Argument(help: "The function's name (lower-case letters, digits and '-').")
    var name: String?

    @Option(name: .shortAndLong, help: "A faas-cli stack file; deploys every function in it.")
    var file: String?

    @Option(name: .long, help: "With -f: deploy only this function.")
    var filter: String?

    @Option(name: .long, help: "The runtime of a code function: python3 or node.")
    var runtime: String?

    @Option(name: .long, help: "A handler file, or a folder holding the handler file at its root (packed as .tar.gz).")
    var code: String?

    @Option(name: .long, help: "An OCI image reference (an image function).")
    var image: String?

    @Option(name: .customLong("env"), help: "An environment variable KEY=VALUE (repeatable).")
    var env: [String] = []

    @Option(name: .customLong("label"), help: "A label KEY=VALUE (repeatable).")
    var labels: [String] = []

    @Option(name: .customLong("secret"), help: "A secret mounted at /var/openfaas/secrets/NAME (repeatable; create it first with `swiftlet secret create`).")
    var secrets: [String] = []

    @Option(name: .long, help: "Memory limit, like 128Mi.")
    var memory: String?

    @Option(name: .long, help: "CPU limit, like 500m or 1.")
    var cpu: String?

    @Option(name: .long, help: "Isolation tier: standard (runc) or hardened (gVisor's runsc; where the provider has it).")
    var isolation: String?

    @Option(name: .customLong("registry-auth"), help: "Pull credentials for a private image: base64 of user:password (used at deploy, never stored).")
    var registryAuth: String?

    @Flag(name: .long, help: "Debug mode: one instance, 1 h exec timeout, and the runtime's debugger forwarded to the host (see `swiftlet describe`).")
    var debug = false

    func validate() throws {
        if file == nil {
            guard name != nil else { throw ValidationError("give a function name, or -f stack.yml") }
            guard (runtime != nil && code != nil) || image != nil else {
                throw ValidationError("give --runtime and --code for a code function, or --image for an image function")
            }
        }
    }

    func run() async throws {
        try await runClient {
            let client: GatewayClient
            if let file {
                let stackDirectory = URL(fileURLWithPath: file).deletingLastPathComponent().path
                guard let text = try? String(contentsOfFile: file, encoding: .utf8) else {
                    throw SwiftletError(.invalidInput, "cannot read the stack file \(file)")
                }
                let stack = try StackFile.parse(text, environment: ProcessInfo.processInfo.environment, baseDirectory: stackDirectory)
                var options = gatewayOptions
                if options.gateway == nil, ProcessInfo.processInfo.environment["SWIFTLET_URL"] == nil,
                    ProcessInfo.processInfo.environment["OPENFAAS_URL"] == nil
                {
                    options.gateway = stack.gateway
                }
                client = try options.client()
                let selected = stack.functions.filter { filter == nil || $0.name == filter }
                guard !selected.isEmpty else {
                    throw SwiftletError(.invalidInput, "no function named '\(filter ?? "")' in \(file)")
                }
                for function in selected {
                    var deployment = try Self.deployment(function, baseDirectory: stackDirectory)
                    if debug { deployment.debug = true }
                    try await deploy(deployment, client: client, baseURL: options.baseURL)
                }
            } else {
                client = try gatewayOptions.client()
                let name = self.name ?? ""
                try FunctionName.validate(name)
                var deployment = FunctionDeployment(service: name)
                if let runtime, let code {
                    deployment.runtime = runtime
                    deployment.code = try CodePacker.pack(path: code).base64EncodedString()
                } else {
                    deployment.image = image
                }
                deployment.envVars = try Self.pairs(env, what: "--env")
                deployment.labels = try Self.pairs(labels, what: "--label")
                deployment.secrets = secrets.isEmpty ? nil : secrets
                deployment.debug = debug ? true : nil
                deployment.isolation = isolation
                deployment.registryAuth = registryAuth
                if memory != nil || cpu != nil {
                    deployment.limits = FunctionResources(memory: memory, cpu: cpu)
                }
                try await deploy(deployment, client: client, baseURL: gatewayOptions.baseURL)
            }
        }
    }

    private func deploy(_ deployment: FunctionDeployment, client: GatewayClient, baseURL: String) async throws {
        let body = ByteBuffer(bytes: try JSONEncoder().encode(deployment))
        // As faas-cli does: update first, create when the function does not exist.
        var answer = try await client.send(.PUT, "/system/functions", body: body, headers: [("Content-Type", "application/json")])
        var verb = "updated"
        if answer.status == 404 {
            answer = try await client.send(.POST, "/system/functions", body: body, headers: [("Content-Type", "application/json")])
            verb = "deployed"
        }
        try client.check(answer, "deploy of '\(deployment.service)' failed")
        let kind = deployment.runtime ?? deployment.image ?? ""
        print("\(verb) \(deployment.service) (\(kind)); call it at \(baseURL)/function/\(deployment.service)")
        if deployment.debug == true || deployment.labels?[DebugMode.label] == "true" {
            print("debug mode: `swiftlet describe \(deployment.service)` shows where its debugger listens once the instance runs")
        }
    }

    /// The deployment for a stack-file function: a code function from `lang` + `handler`, else
    /// an image function.
    static func deployment(_ function: StackFile.Function, baseDirectory: String) throws -> FunctionDeployment {
        try FunctionName.validate(function.name)
        var deployment = FunctionDeployment(service: function.name)
        if let runtime = try StackFile.runtime(forLang: function.lang) {
            guard let handler = function.handler else {
                throw SwiftletError(.invalidInput, "function '\(function.name)' has lang \(function.lang ?? "") but no handler folder")
            }
            let path = handler.hasPrefix("/") ? handler : baseDirectory + "/" + handler
            deployment.runtime = runtime
            deployment.code = try CodePacker.pack(path: path).base64EncodedString()
        } else {
            guard let image = function.image, !image.isEmpty else {
                throw SwiftletError(.invalidInput, "function '\(function.name)' has neither a python3/node lang with a handler nor an image")
            }
            deployment.image = image
        }
        deployment.envProcess = function.fprocess
        deployment.envVars = function.environment.isEmpty ? nil : function.environment
        deployment.secrets = function.secrets.isEmpty ? nil : function.secrets
        deployment.labels = function.labels.isEmpty ? nil : function.labels
        deployment.annotations = function.annotations.isEmpty ? nil : function.annotations
        deployment.limits = function.limits
        deployment.requests = function.requests
        deployment.readOnlyRootFilesystem = function.readOnlyRootFilesystem
        deployment.namespace = function.namespace
        return deployment
    }

    static func pairs(_ items: [String], what: String) throws -> [String: String]? {
        guard !items.isEmpty else { return nil }
        var result: [String: String] = [:]
        for item in items {
            guard let eq = item.firstIndex(of: "="), eq != item.startIndex else {
                throw SwiftletError(.invalidInput, "\(what) '\(item)' must look like KEY=VALUE")
            }
            result[String(item[..<eq])] = String(item[item.index(after: eq)...])
        }
        return result
    }
}
