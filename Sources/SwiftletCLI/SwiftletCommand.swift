import ArgumentParser

/// The `swiftlet` command: runs the platform (`up`) and talks to a running gateway.
public struct SwiftletCommand: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "swiftlet",
        abstract: "A self-hosted functions platform that speaks the OpenFaaS API.",
        version: "0.1.0",
        subcommands: [
            UpCommand.self, DeployCommand.self, InvokeCommand.self, ListCommand.self, DescribeCommand.self, RemoveCommand.self, ScaleCommand.self, ImageCommand.self, SecretCommand.self,
            CallsCommand.self, CallCommand.self, LogsCommand.self, GCCommand.self, TokenCommand.self,
        ]
    )

    public init() {}
}
