import Foundation
import SwiftletCore
import Yams

/// A faas-cli stack file (`stack.yml`): `provider.gateway` and `functions`, with `${VAR}` and
/// `${VAR:-default}` substituted from the environment before parsing, as faas-cli does.
struct StackFile {
    /// One function of the stack.
    struct Function: Equatable {
        var name: String
        var lang: String?
        var handler: String?
        var image: String?
        var fprocess: String?
        var environment: [String: String] = [:]
        var secrets: [String] = []
        var labels: [String: String] = [:]
        var annotations: [String: String] = [:]
        var limits: FunctionResources?
        var requests: FunctionResources?
        var readOnlyRootFilesystem: Bool?
        var namespace: String?
    }

    /// `provider.gateway`, if given.
    var gateway: String?
    /// The functions, by name.
    var functions: [Function]

    /// The runtime a faas-cli `lang` template maps to, or nil for an image-only function.
    static func runtime(forLang lang: String?) throws -> String? {
        guard let lang, !lang.isEmpty, lang != "dockerfile" else { return nil }
        let lower = lang.lowercased()
        if lower.hasPrefix("python3") || lower == "python" { return "python3" }
        if lower.hasPrefix("node") { return "node" }
        throw SwiftletError(.invalidInput, "lang '\(lang)' has no Swiftlet runtime: use a python3* or node* template, or give an image")
    }

    /// Parses `text`; relative `environment_file` paths are read from `baseDirectory`.
    static func parse(_ text: String, environment: [String: String], baseDirectory: String) throws -> StackFile {
        let substituted = substitute(text, environment: environment)
        let root: Any?
        do {
            root = try Yams.load(yaml: substituted)
        } catch {
            throw SwiftletError(.invalidInput, "the stack file is not valid YAML: \(error)")
        }
        guard let document = root as? [String: Any] else {
            throw SwiftletError(.invalidInput, "the stack file must be a YAML mapping with `provider` and `functions`")
        }
        let gateway = (document["provider"] as? [String: Any])?["gateway"] as? String
        guard let functions = document["functions"] as? [String: Any], !functions.isEmpty else {
            throw SwiftletError(.invalidInput, "the stack file has no `functions`")
        }
        var result: [Function] = []
        for (name, value) in functions.sorted(by: { $0.key < $1.key }) {
            guard let fields = value as? [String: Any] else {
                throw SwiftletError(.invalidInput, "function '\(name)' in the stack file must be a mapping")
            }
            var function = Function(name: name)
            function.lang = fields["lang"] as? String
            function.handler = fields["handler"] as? String
            function.image = fields["image"] as? String
            function.fprocess = fields["fprocess"] as? String
            function.namespace = fields["namespace"] as? String
            function.readOnlyRootFilesystem = fields["readonly_root_filesystem"] as? Bool
            for file in fields["environment_file"] as? [String] ?? [] {
                function.environment.merge(try environmentFile(file, baseDirectory: baseDirectory)) { $1 }
            }
            function.environment.merge(try strings(fields["environment"], what: "\(name).environment")) { $1 }
            function.labels = try strings(fields["labels"], what: "\(name).labels")
            function.annotations = try strings(fields["annotations"], what: "\(name).annotations")
            function.secrets = (fields["secrets"] as? [Any] ?? []).map { "\($0)" }
            function.limits = try resources(fields["limits"], what: "\(name).limits")
            function.requests = try resources(fields["requests"], what: "\(name).requests")
            result.append(function)
        }
        return StackFile(gateway: gateway, functions: result)
    }

    /// Replaces `${NAME}` and `${NAME:-default}`; unknown names become empty, as with envsubst.
    static func substitute(_ text: String, environment: [String: String]) -> String {
        var output = ""
        var rest = Substring(text)
        while let start = rest.range(of: "${") {
            output += rest[..<start.lowerBound]
            guard let end = rest[start.upperBound...].firstIndex(of: "}") else {
                output += rest[start.lowerBound...]
                return output
            }
            let expression = rest[start.upperBound..<end]
            if let colon = expression.range(of: ":-") {
                let value = environment[String(expression[..<colon.lowerBound])] ?? ""
                output += value.isEmpty ? String(expression[colon.upperBound...]) : value
            } else {
                output += environment[String(expression)] ?? ""
            }
            rest = rest[rest.index(after: end)...]
        }
        return output + rest
    }

    private static func strings(_ value: Any?, what: String) throws -> [String: String] {
        guard let value else { return [:] }
        guard let map = value as? [String: Any] else {
            throw SwiftletError(.invalidInput, "\(what) in the stack file must be a mapping of names to values")
        }
        return map.mapValues { "\($0)" }
    }

    private static func resources(_ value: Any?, what: String) throws -> FunctionResources? {
        guard let value else { return nil }
        let map = try strings(value, what: what)
        return FunctionResources(memory: map["memory"], cpu: map["cpu"])
    }

    private static func environmentFile(_ path: String, baseDirectory: String) throws -> [String: String] {
        let full = path.hasPrefix("/") ? path : baseDirectory + "/" + path
        guard let text = try? String(contentsOfFile: full, encoding: .utf8) else {
            throw SwiftletError(.invalidInput, "cannot read the environment_file \(full)")
        }
        guard let document = try? Yams.load(yaml: text) as? [String: Any], let environment = document["environment"] else {
            throw SwiftletError(.invalidInput, "the environment_file \(full) must hold an `environment:` mapping")
        }
        return try strings(environment, what: full)
    }
}
