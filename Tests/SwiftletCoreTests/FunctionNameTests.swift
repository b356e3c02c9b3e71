import Foundation
import Testing

@testable import SwiftletCore

/// Runs `body` and returns the `SwiftletError` it throws, recording an issue when it does not throw.
func expectSwiftletError(
    _ code: SwiftletError.Code, sourceLocation: SourceLocation = #_sourceLocation, _ body: () throws(SwiftletError) -> Void
) -> SwiftletError? {
    do {
        try body()
        Issue.record("expected a SwiftletError with code \(code), but nothing was thrown", sourceLocation: sourceLocation)
        return nil
    } catch {
        #expect(error.code == code, "unexpected error: \(error.message)", sourceLocation: sourceLocation)
        return error
    }
}

@Suite struct FunctionNameTests {
    @Test(arguments: ["a", "hello", "hello-world", "a1", "1a", "0", "a-b-c", "x--y", String(repeating: "a", count: 63)])
    func validNames(_ name: String) {
        #expect(throws: Never.self) { try FunctionName.validate(name) }
    }

    @Test(arguments: [
        "", String(repeating: "a", count: 64), "Hello", "HELLO", "-hello", "hello-", "-", "hello.world", ".", "..",
        "../x", "x/../y", "a/b", "/etc", "héllo", "🙂", "hello world", " hello", "hello ", "hello_world", "hello\0",
        "hello\n", "a\u{0301}", "ｈello", "x\\y", "%2e%2e", "hello:1", "*",
    ])
    func invalidNames(_ name: String) {
        let error = expectSwiftletError(.invalidInput) { () throws(SwiftletError) in try FunctionName.validate(name) }
        #expect(error?.message.isEmpty == false)
    }

    @Test func emptyNameMessageSaysEmpty() {
        let error = expectSwiftletError(.invalidInput) { () throws(SwiftletError) in try FunctionName.validate("") }
        #expect(error?.message.contains("empty") == true)
    }

    @Test func tooLongNameMessageGivesLengths() {
        let error = expectSwiftletError(.invalidInput) { () throws(SwiftletError) in
            try FunctionName.validate(String(repeating: "b", count: 64))
        }
        #expect(error?.message.contains("64") == true)
        #expect(error?.message.contains("63") == true)
    }

    @Test func multiByteNameCountsBytes() {
        // 32 two-byte characters: 32 characters but 64 bytes.
        let error = expectSwiftletError(.invalidInput) { () throws(SwiftletError) in
            try FunctionName.validate(String(repeating: "é", count: 32))
        }
        #expect(error != nil)
    }

    @Test func hugeNameMessageIsTruncated() {
        let name = String(repeating: "A", count: 10_000)
        let error = expectSwiftletError(.invalidInput) { () throws(SwiftletError) in try FunctionName.validate(name) }
        #expect((error?.message.count ?? .max) < 500)
    }

    @Test func resolveNamespaceDefaults() throws {
        #expect(try FunctionName.resolveNamespace(nil) == "openfaas-fn")
        #expect(try FunctionName.resolveNamespace("") == "openfaas-fn")
        #expect(try FunctionName.resolveNamespace("openfaas-fn") == FunctionName.defaultNamespace)
    }

    @Test(arguments: ["default", "openfaas", "OPENFAAS-FN", "openfaas-fn ", " openfaas-fn", "../openfaas-fn", "kube-system"])
    func resolveNamespaceRefusesOthers(_ namespace: String) {
        let error = expectSwiftletError(.invalidInput) { () throws(SwiftletError) in
            _ = try FunctionName.resolveNamespace(namespace)
        }
        #expect(error?.message.contains("openfaas-fn") == true)
    }

    @Test func splitWithoutDot() {
        let (name, namespace) = FunctionName.split("hello")
        #expect(name == "hello")
        #expect(namespace == nil)
    }

    @Test func splitWithNamespace() {
        let (name, namespace) = FunctionName.split("hello.openfaas-fn")
        #expect(name == "hello")
        #expect(namespace == "openfaas-fn")
    }

    @Test func splitUsesLastDot() {
        let (name, namespace) = FunctionName.split("a.b.c")
        #expect(name == "a.b")
        #expect(namespace == "c")
    }

    @Test func splitEdgeCases() {
        let trailing = FunctionName.split("hello.")
        #expect(trailing.name == "hello")
        #expect(trailing.namespace == "")
        let leading = FunctionName.split(".ns")
        #expect(leading.name == "")
        #expect(leading.namespace == "ns")
        let empty = FunctionName.split("")
        #expect(empty.name == "")
        #expect(empty.namespace == nil)
    }

    @Test func splitOfSubstringKeepsIndices() {
        let path = "/function/hello.openfaas-fn"
        let qualified = path.dropFirst("/function/".count)
        let (name, namespace) = FunctionName.split(qualified)
        #expect(String(name) == "hello")
        #expect(namespace.map(String.init) == "openfaas-fn")
    }
}

@Suite struct RuntimeTests {
    @Test(arguments: [
        ("python3", Runtime.python3), ("python", .python3), ("python3-http", .python3), ("python3-flask", .python3),
        ("PYTHON3", .python3), ("Python", .python3), ("node", .node), ("nodejs", .node), ("node18", .node),
        ("node20", .node), ("node22", .node), ("NODE", .node), ("NodeJS", .node),
    ])
    func parsesNamesAndAliases(_ name: String, _ expected: Runtime) throws {
        #expect(try Runtime.parse(name) == expected)
    }

    @Test(arguments: [nil, ""] as [String?])
    func missingRuntimeListsValidOnes(_ name: String?) {
        let error = expectSwiftletError(.invalidInput) { () throws(SwiftletError) in _ = try Runtime.parse(name) }
        #expect(error?.message.contains("python3, node") == true)
    }

    @Test(arguments: ["ruby", "python2", "go", " python3", "python3 ", "node16x", "java", "../node", "pyth\0on3"])
    func unknownRuntimeListsValidOnes(_ name: String) {
        let error = expectSwiftletError(.invalidInput) { () throws(SwiftletError) in _ = try Runtime.parse(name) }
        #expect(error?.message.contains("unknown runtime") == true)
        #expect(error?.message.contains("python3, node") == true)
    }

    @Test func unknownHugeRuntimeMessageIsTruncated() {
        let error = expectSwiftletError(.invalidInput) { () throws(SwiftletError) in
            _ = try Runtime.parse(String(repeating: "r", count: 100_000))
        }
        #expect((error?.message.count ?? .max) < 300)
    }

    @Test func handlerFiles() {
        #expect(Runtime.python3.handlerFile == "handler.py")
        #expect(Runtime.node.handlerFile == "handler.js")
        #expect(Runtime.validNames == "python3, node")
    }

    @Test func codableUsesRawValue() throws {
        let data = try JSONEncoder().encode([Runtime.python3, .node])
        #expect(String(decoding: data, as: UTF8.self) == #"["python3","node"]"#)
        #expect(try JSONDecoder().decode([Runtime].self, from: data) == [.python3, .node])
        #expect(throws: DecodingError.self) { try JSONDecoder().decode([Runtime].self, from: Data(#"["ruby"]"#.utf8)) }
    }
}

@Suite struct SwiftletErrorTests {
    @Test func descriptionIncludesCause() {
        struct Cause: Error, CustomStringConvertible { var description: String { "disk full" } }
        let plain = SwiftletError(.internal, "cannot write")
        #expect(plain.description == "cannot write")
        let caused = SwiftletError(.internal, "cannot write", cause: Cause())
        #expect(caused.description == "cannot write (disk full)")
    }

    @Test func codesAreDistinctAndStable() {
        let codes: [SwiftletError.Code] = [
            .invalidInput, .notFound, .conflict, .tooLarge, .unauthorized, .badGateway, .unavailable, .timeout, .unsupported, .internal,
        ]
        #expect(Set(codes).count == codes.count)
        #expect(SwiftletError.Code.invalidInput.rawValue == "invalid_input")
        #expect(SwiftletError.Code.tooLarge.description == "too_large")
    }
}
