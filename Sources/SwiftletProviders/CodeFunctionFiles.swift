import Foundation
import SwiftletCore
import SwiftletSandbox

/// What every provider does with a code function's files, whatever runs the instance: checks the
/// bundle, installs python dependencies, unpacks the code once per digest under the data
/// directory, and builds the runner's command and environment.
public struct CodeFunctionFiles: Sendable {
    /// Where code is unpacked (`DATA/code/<digest>-<runtime>`).
    public let codeDirectory: String
    /// The python dependency layers.
    public let dependencies: PythonDependencies
    private let codeSource: any CodeSource
    private let bundle = CodeBundle()

    /// Creates the helper for `dataDirectory`.
    public init(dataDirectory: String, codeSource: any CodeSource) {
        self.codeDirectory = dataDirectory + "/code"
        self.dependencies = PythonDependencies(dataDirectory: dataDirectory)
        self.codeSource = codeSource
    }

    /// Creates the code directory.
    public func prepareDirectories() throws {
        try FileManager.default.createDirectory(atPath: codeDirectory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
    }

    /// Drops staging leftovers of unpacks and dependency installs cut short by a crash.
    public func removeStaging() {
        let fm = FileManager.default
        for directory in [codeDirectory, dependencies.directory] {
            for entry in (try? fm.contentsOfDirectory(atPath: directory)) ?? [] where entry.contains(".staging-") {
                try? fm.removeItem(atPath: directory + "/" + entry)
            }
        }
    }

    /// Checks that `code` is a runnable bundle for `runtime`.
    public func validate(_ code: Data, runtime: Runtime) throws {
        try bundle.validate(code, runtime: runtime)
    }

    /// Installs the dependencies of a python bundle's `requirements.txt` (nothing otherwise).
    public func prepare(_ spec: FunctionSpec, code: Data) async throws {
        guard spec.runtime == .python3, let requirements = try bundle.file("requirements.txt", in: code, runtime: .python3) else { return }
        _ = try await dependencies.install(String(decoding: requirements, as: UTF8.self))
    }

    /// The unpacked code of `spec` (unpacked now if needed).
    public func unpackedCode(for spec: FunctionSpec, runtime: Runtime) async throws -> String {
        let path = codeDirectory + "/" + spec.codeDigest + "-" + runtime.rawValue
        if FileManager.default.fileExists(atPath: path) { return path }
        guard let code = try await codeSource.code(digest: spec.codeDigest) else {
            throw SwiftletError(.internal, "the code of '\(spec.name)' (\(spec.codeDigest.prefix(12))) is missing from the store; deploy the function again")
        }
        try bundle.unpack(code, runtime: runtime, into: path)
        return path
    }

    /// The installed dependency layer of the python code at `codePath`, or nil without requirements.
    public func pythonLayer(codePath: String, runtime: Runtime) async throws -> String? {
        guard runtime == .python3, let requirements = try? String(contentsOfFile: codePath + "/requirements.txt", encoding: .utf8) else { return nil }
        return try await dependencies.install(requirements)
    }

    /// The command that starts `runtime`'s runner (with its debugger in debug mode).
    public static func runnerCommand(_ runtime: Runtime, debug: Bool) -> [String] {
        debug ? NativeProvider.debugRunnerCommand(runtime) : NativeProvider.runnerCommand(runtime)
    }

    /// The runner's environment: the base, the function's variables, the debugger's in debug
    /// mode, and the platform's own (which win).
    public static func environment(for spec: FunctionSpec, instanceID: String) -> [String: String] {
        var env = WarmSandboxMaker.baseEnvironment
        for (key, value) in spec.envVars { env[key] = value }
        env["SWIFTLET_FUNCTION_DIR"] = "/home/app/function"
        env["SWIFTLET_RUNNER_PORT"] = String(NativeProvider.runnerPort)
        env["SWIFTLET_FUNCTION_NAME"] = spec.name
        env["HOSTNAME"] = instanceID
        if spec.isDebug, let runtime = spec.runtime {
            env.merge(NativeProvider.debugEnvironment(runtime)) { _, debug in debug }
        }
        return env
    }
}
