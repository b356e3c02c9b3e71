import Foundation
import Testing

@testable import SwiftletCore

private let pythonHandler = "def handle(event, context):\n    return {\"statusCode\": 200, \"body\": \"hi\"}\n"
private let nodeHandler = "module.exports = async (event, context) => context.status(200).succeed('hi')\n"
private let now = Date(timeIntervalSince1970: 1_700_000_000)

private func base64(_ text: String) -> String { Data(text.utf8).base64EncodedString() }

private func python(
    service: String = "hello", namespace: String? = nil, envVars: [String: String]? = nil, secrets: [String]? = nil,
    labels: [String: String]? = nil, annotations: [String: String]? = nil, limits: FunctionResources? = nil,
    requests: FunctionResources? = nil, runtime: String? = "python3", code: String? = base64(pythonHandler)
) -> FunctionDeployment {
    FunctionDeployment(
        service: service, namespace: namespace, envVars: envVars, secrets: secrets, labels: labels, annotations: annotations,
        limits: limits, requests: requests, runtime: runtime, code: code
    )
}

/// Validates and returns the error, recording an issue when the deployment is accepted.
private func refused(
    _ deployment: FunctionDeployment, _ code: SwiftletError.Code, limits: DeploymentValidator.Limits = .init(),
    sourceLocation: SourceLocation = #_sourceLocation
) -> SwiftletError? {
    expectSwiftletError(code, sourceLocation: sourceLocation) { () throws(SwiftletError) in
        _ = try DeploymentValidator(limits: limits).validate(deployment, now: now)
    }
}

@Suite struct DeploymentValidatorTests {
    // MARK: accepted

    @Test func goodPythonDeployment() throws {
        let validated = try DeploymentValidator().validate(python(), now: now)
        #expect(validated.code == Data(pythonHandler.utf8))
        let spec = validated.spec
        #expect(spec.name == "hello")
        #expect(spec.namespace == "openfaas-fn")
        #expect(spec.runtime == .python3)
        #expect(spec.codeDigest == "")
        #expect(spec.envVars.isEmpty)
        #expect(spec.labels.isEmpty)
        #expect(spec.annotations.isEmpty)
        #expect(spec.secrets.isEmpty)
        #expect(spec.constraints.isEmpty)
        #expect(spec.envProcess == nil)
        #expect(spec.limits == nil)
        #expect(spec.requests == nil)
        #expect(spec.createdAt == now)
        #expect(spec.updatedAt == now)
    }

    @Test func goodNodeDeploymentKeepsEverything() throws {
        let deployment = FunctionDeployment(
            service: "node-fn", namespace: "openfaas-fn", envProcess: "node index.js",
            envVars: ["exec_timeout": "30s", "GREETING": "hello world", "_private": "1"], constraints: ["node.platform.os == linux"],
            labels: ["com.openfaas.scale.min": "1", "team": "a"], annotations: ["topic": "cron", "x": ""],
            limits: FunctionResources(memory: "128Mi", cpu: "500m"), requests: FunctionResources(memory: "64Mi", cpu: "100m"),
            readOnlyRootFilesystem: false, runtime: "node18", code: base64(nodeHandler)
        )
        let validated = try DeploymentValidator().validate(deployment, now: now)
        let spec = validated.spec
        #expect(validated.code == Data(nodeHandler.utf8))
        #expect(spec.name == "node-fn")
        #expect(spec.runtime == .node)
        #expect(spec.envVars == deployment.envVars)
        #expect(spec.labels == deployment.labels)
        #expect(spec.annotations == deployment.annotations)
        #expect(spec.constraints == ["node.platform.os == linux"])
        #expect(spec.envProcess == "node index.js")
        #expect(spec.limits == FunctionResources(memory: "128Mi", cpu: "500m"))
        #expect(spec.requests == FunctionResources(memory: "64Mi", cpu: "100m"))
        #expect(spec.execTimeout == .seconds(30))
        #expect(spec.memoryLimitBytes == Int64(134_217_728))
        #expect(spec.cpuLimit == 0.5)
    }

    @Test func binaryCodeIsDecodedExactly() throws {
        let bytes = Data((0..<256).map { UInt8($0) } + [0x1F, 0x8B, 0, 0])
        let validated = try DeploymentValidator().validate(python(code: bytes.base64EncodedString()), now: now)
        #expect(validated.code == bytes)
    }

    @Test func wrappedBase64IsAccepted() throws {
        let text = String(repeating: "print('x')\n", count: 40)
        var encoded = Data(text.utf8).base64EncodedString(options: [.lineLength76Characters, .endLineWithCarriageReturn, .endLineWithLineFeed])
        encoded += "\n"
        #expect(encoded.contains("\r\n"))
        let validated = try DeploymentValidator().validate(python(code: encoded), now: now)
        #expect(validated.code == Data(text.utf8))
    }

    @Test func imageIsIgnoredWhenARuntimeIsGiven() throws {
        var deployment = python()
        deployment.image = "ghcr.io/openfaas/figlet:latest"
        let validated = try DeploymentValidator().validate(deployment, now: now)
        #expect(validated.spec.runtime == .python3)
    }

    @Test func faasFunctionLabelIsStripped() throws {
        let validated = try DeploymentValidator().validate(
            python(labels: ["faas_function": "someone-else", "com.openfaas.scale.max": "3"]), now: now
        )
        #expect(validated.spec.labels == ["com.openfaas.scale.max": "3"])
        // The status puts back the function's own name.
        let status = validated.spec.status(invocationCount: 0, replicas: 1, availableReplicas: 1)
        #expect(status.labels["faas_function"] == "hello")
    }

    @Test func exactlyAtTheLimitsIsAccepted() throws {
        let limits = DeploymentValidator.Limits(maxCodeBytes: 16, maxEntries: 2, maxValueBytes: 8)
        let deployment = python(
            envVars: ["A": "12345678", "B": "x"], labels: ["k1": "v", "k2": "v"], annotations: ["12345678": "v"],
            code: Data(repeating: 0x41, count: 16).base64EncodedString()
        )
        let validated = try DeploymentValidator(limits: limits).validate(deployment, now: now)
        #expect(validated.code.count == 16)
    }

    // MARK: name and namespace

    @Test(arguments: ["", "Hello", "../x", "hello.world", "a b", "-x", String(repeating: "a", count: 64)])
    func badServiceName(_ name: String) {
        #expect(refused(python(service: name), .invalidInput) != nil)
    }

    @Test func badNamespace() {
        let error = refused(python(namespace: "kube-system"), .invalidInput)
        #expect(error?.message.contains("openfaas-fn") == true)
    }

    // MARK: runtime

    @Test func missingRuntime() {
        let error = refused(python(runtime: nil), .invalidInput)
        #expect(error?.message.contains("python3, node") == true)
        let empty = refused(python(runtime: ""), .invalidInput)
        #expect(empty?.message.contains("python3, node") == true)
    }

    @Test func unknownRuntimeListsValidOnes() {
        let error = refused(python(runtime: "cobol"), .invalidInput)
        #expect(error?.message.contains("python3, node") == true)
        #expect(error?.message.contains("cobol") == true)
    }

    @Test func imageOnlyDeploymentIsAnImageFunction() throws {
        var deployment = python(runtime: nil, code: nil)
        deployment.image = "ghcr.io/openfaas/figlet:latest"
        deployment.readOnlyRootFilesystem = true
        let spec = try DeploymentValidator().validate(deployment).spec
        #expect(spec.runtime == nil)
        #expect(spec.image == "ghcr.io/openfaas/figlet:latest")
        #expect(spec.isImageFunction)
        #expect(spec.rootFilesystemIsReadOnly)
        #expect(spec.status(invocationCount: 0, replicas: 1, availableReplicas: 0).image == "ghcr.io/openfaas/figlet:latest")
    }

    @Test func imageFunctionsAreWritableByDefaultAndCodeFunctionsNever() throws {
        var image = python(runtime: nil, code: nil)
        image.image = "localhost/x:1"
        #expect(try DeploymentValidator().validate(image).spec.rootFilesystemIsReadOnly == false)
        var code = python()
        code.readOnlyRootFilesystem = false
        #expect(try DeploymentValidator().validate(code).spec.rootFilesystemIsReadOnly == true)
    }

    @Test(arguments: ["has space:1", "tab\there", String(repeating: "a", count: 600), "ctl\u{01}x"])
    func malformedImageReferencesAreRefused(_ image: String) {
        var deployment = python(runtime: nil, code: nil)
        deployment.image = image
        let error = refused(deployment, .invalidInput)
        #expect(error?.message.contains("image reference") == true)
    }

    @Test func codeWithoutRuntimeBesideAnImageIsRefused() {
        var deployment = python(runtime: nil)
        deployment.image = "localhost/x:1"
        let error = refused(deployment, .invalidInput)
        #expect(error?.message.contains("runtime") == true)
    }

    @Test func emptyImageWithoutRuntimeIsAMissingRuntime() {
        var deployment = python(runtime: nil)
        deployment.image = ""
        #expect(refused(deployment, .invalidInput) != nil)
    }

    // MARK: code

    @Test(arguments: [nil, ""] as [String?])
    func missingCode(_ code: String?) {
        let error = refused(python(code: code), .invalidInput)
        #expect(error?.message.contains("code") == true)
    }

    @Test(arguments: ["!!!!", "not base64 at all!", "QQ", "Q", "QQ=", "====", "=QQ=", "QUJD$", "QUJD\0", "QUJD\t", "QU-_", "é", "QQ==QQ==", "QUJD=QUJD"])
    func brokenBase64(_ code: String) {
        let error = refused(python(code: code), .invalidInput)
        #expect(error?.message.contains("base64") == true)
    }

    @Test func oversizedDecodedCodeIsTooLarge() {
        let limits = DeploymentValidator.Limits(maxCodeBytes: 16)
        let error = refused(python(code: Data(repeating: 0x41, count: 17).base64EncodedString()), .tooLarge, limits: limits)
        #expect(error?.message.contains("16") == true)
    }

    @Test func hugeBase64IsRefusedBeforeDecoding() {
        let limits = DeploymentValidator.Limits(maxCodeBytes: 1024)
        let huge = String(repeating: "QUJD", count: 1_000_000)
        #expect(refused(python(code: huge), .tooLarge, limits: limits) != nil)
        // With the default 8 MiB limit, 9 MiB of code is refused too.
        let nine = Data(count: 9 * 1024 * 1024).base64EncodedString()
        #expect(refused(python(code: nine), .tooLarge) != nil)
    }

    // MARK: maps

    @Test(arguments: ["1ABC", "A-B", "A B", "A=B", "É", "A.B", "$HOME", "a\u{0301}", " A", "A\n"])
    func badEnvNames(_ name: String) {
        let error = refused(python(envVars: [name: "x"]), .invalidInput)
        #expect(error?.message.contains("environment variable") == true)
    }

    @Test func emptyEnvName() {
        #expect(refused(python(envVars: ["": "x"]), .invalidInput) != nil)
    }

    @Test func envNameValidity() {
        for good in ["A", "_", "_X", "PATH", "a1_B", "exec_timeout", "Z9"] {
            #expect(DeploymentValidator.isValidEnvName(good), "\(good)")
        }
        for bad in ["", "9", "1A", "A-B", "A B", "É", "A=", "a\0"] {
            #expect(!DeploymentValidator.isValidEnvName(bad), "\(bad)")
        }
    }

    @Test func strictBase64Alphabet() {
        #expect(DeploymentValidator.isStrictBase64("QUJD\r\nREVG +/=="))
        #expect(!DeploymentValidator.isStrictBase64("QUJD\r\nREVG ==+/"), "padding only at the end")
        #expect(!DeploymentValidator.isStrictBase64("QQ==QQ=="), "padding only at the end")
        #expect(!DeploymentValidator.isStrictBase64("QUJD-"))
        #expect(!DeploymentValidator.isStrictBase64("QUJD_"))
        #expect(!DeploymentValidator.isStrictBase64("QUJD\t"))
        #expect(!DeploymentValidator.isStrictBase64("QUJDé"))
    }

    @Test func nulBytesAreRefused() {
        let envValue = refused(python(envVars: ["A": "x\0y"]), .invalidInput)
        #expect(envValue?.message.contains("NUL") == true)
        let envKey = refused(python(envVars: ["A\0B": "x"]), .invalidInput)
        #expect(envKey != nil)
        let labelValue = refused(python(labels: ["team": "a\0"]), .invalidInput)
        #expect(labelValue?.message.contains("NUL") == true)
        let labelKey = refused(python(labels: ["\0": "a"]), .invalidInput)
        #expect(labelKey?.message.contains("NUL") == true)
        let annotation = refused(python(annotations: ["topic": "\0cron"]), .invalidInput)
        #expect(annotation?.message.contains("NUL") == true)
    }

    @Test func tooManyEntries() {
        let limits = DeploymentValidator.Limits(maxEntries: 2)
        let three = ["a": "1", "b": "2", "c": "3"]
        let labels = refused(python(labels: three), .invalidInput, limits: limits)
        #expect(labels?.message.contains("too many labels") == true)
        let annotations = refused(python(annotations: three), .invalidInput, limits: limits)
        #expect(annotations?.message.contains("too many annotations") == true)
        let env = refused(python(envVars: ["A": "1", "B": "2", "C": "3"]), .invalidInput, limits: limits)
        #expect(env?.message.contains("too many envVars") == true)
    }

    @Test func tooManyLabelsWithDefaultLimits() {
        var labels: [String: String] = [:]
        for i in 0...256 { labels["label-\(i)"] = "v" }
        let error = refused(python(labels: labels), .invalidInput)
        #expect(error?.message.contains("257") == true)
    }

    @Test func tooLongKeysAndValues() {
        let limits = DeploymentValidator.Limits(maxValueBytes: 8)
        #expect(refused(python(envVars: ["A": "123456789"]), .invalidInput, limits: limits) != nil)
        #expect(refused(python(labels: ["123456789": "v"]), .invalidInput, limits: limits) != nil)
        #expect(refused(python(annotations: ["k": "ééééé"]), .invalidInput, limits: limits) != nil)  // 10 bytes
        #expect(refused(python(labels: ["": "v"]), .invalidInput) != nil)
    }

    // MARK: quantities

    @Test(arguments: ["abc", "-1s", "1e10", "nan", "1d", ""])
    func invalidExecTimeout(_ timeout: String) {
        let error = refused(python(envVars: ["exec_timeout": timeout]), .invalidInput)
        #expect(error?.message.contains("duration") == true)
    }

    @Test func invalidLimitsAndRequests() {
        #expect(refused(python(limits: FunctionResources(memory: "lots")), .invalidInput)?.message.contains("memory") == true)
        #expect(refused(python(limits: FunctionResources(memory: "1Ki")), .invalidInput) != nil)
        #expect(refused(python(limits: FunctionResources(cpu: "-1")), .invalidInput)?.message.contains("CPU") == true)
        #expect(refused(python(limits: FunctionResources(cpu: "nan")), .invalidInput) != nil)
        #expect(refused(python(requests: FunctionResources(memory: "-5Mi")), .invalidInput) != nil)
        #expect(refused(python(requests: FunctionResources(cpu: "0m")), .invalidInput) != nil)
        #expect(refused(python(limits: FunctionResources(memory: "128Mi", cpu: "2000")), .invalidInput) != nil)
    }

    // MARK: secrets

    @Test func secretsAreKeptInOrder() throws {
        let validated = try DeploymentValidator().validate(python(secrets: ["db-password", "api-token"]), now: now)
        #expect(validated.spec.secrets == ["db-password", "api-token"])
    }

    @Test func repeatedSecretsAreKeptOnce() throws {
        let validated = try DeploymentValidator().validate(python(secrets: ["b", "a", "b", "a"]), now: now)
        #expect(validated.spec.secrets == ["b", "a"])
    }

    @Test func tooManySecretsAreRefused() {
        let error = refused(python(secrets: (0..<3).map { "s\($0)" }), .invalidInput, limits: .init(maxEntries: 2))
        #expect(error?.message.contains("too many secrets") == true)
    }

    @Test(arguments: ["../etc/passwd", "", "Password", "a/b", ".", "..", String(repeating: "a", count: 64), "clé", "a\u{0}b"])
    func invalidSecretNames(_ secret: String) {
        let error = refused(python(secrets: [secret]), .invalidInput)
        #expect(error?.message.contains("secret") == true)
    }

    @Test func emptySecretsListIsFine() throws {
        let validated = try DeploymentValidator().validate(python(secrets: []), now: now)
        #expect(validated.spec.secrets.isEmpty)
    }
}

@Suite struct FunctionSpecTests {
    private func spec(envVars: [String: String] = [:], limits: FunctionResources? = nil) -> FunctionSpec {
        FunctionSpec(
            name: "hello", runtime: .python3, codeDigest: "abc123", envVars: envVars, limits: limits, createdAt: now, updatedAt: now
        )
    }

    @Test func statusAddsFaasFunctionLabel() {
        var s = spec()
        s.labels = ["team": "a", "faas_function": "wrong"]
        let status = s.status(invocationCount: 42, replicas: 2, availableReplicas: 1)
        #expect(status.labels == ["team": "a", "faas_function": "hello"])
        #expect(status.name == "hello")
        #expect(status.namespace == "openfaas-fn")
        #expect(status.image == "swiftlet/python3")
        #expect(status.runtime == "python3")
        #expect(status.codeDigest == "abc123")
        #expect(status.readOnlyRootFilesystem)
        #expect(status.invocationCount == 42)
        #expect(status.replicas == 2)
        #expect(status.availableReplicas == 1)
        #expect(status.createdAt == "2023-11-14T22:13:20Z")
        #expect(status.envVars == nil)
        #expect(status.secrets == nil)
        #expect(status.constraints == nil)
        #expect(status.annotations == nil)
    }

    @Test func statusWithoutLabelsStillHasFaasFunction() {
        let status = FunctionSpec(name: "node-fn", runtime: .node, codeDigest: "d").status(invocationCount: 0, replicas: 0, availableReplicas: 0)
        #expect(status.labels == ["faas_function": "node-fn"])
        #expect(status.image == "swiftlet/node")
    }

    @Test func statusKeepsNonEmptyCollections() {
        var s = spec(envVars: ["A": "1"])
        s.annotations = ["x": "y"]
        s.constraints = ["c"]
        s.secrets = ["s"]
        let status = s.status(invocationCount: 0, replicas: 1, availableReplicas: 1)
        #expect(status.envVars == ["A": "1"])
        #expect(status.annotations == ["x": "y"])
        #expect(status.constraints == ["c"])
        #expect(status.secrets == ["s"])
    }

    @Test(arguments: [
        ("30s", Duration.seconds(30)), ("500ms", .milliseconds(500)), ("2m", .seconds(120)), ("45", .seconds(45)),
        ("0", .seconds(60)), ("0s", .seconds(60)), ("1us", .seconds(60)), ("garbage", .seconds(60)), ("-5s", .seconds(60)),
    ])
    func execTimeout(_ value: String, _ expected: Duration) {
        #expect(spec(envVars: ["exec_timeout": value]).execTimeout == expected)
    }

    @Test func execTimeoutDefault() {
        #expect(spec().execTimeout == .seconds(60))
        #expect(FunctionSpec.defaultExecTimeout == .seconds(60))
    }

    @Test func memoryAndCPULimits() {
        #expect(spec().memoryLimitBytes == nil)
        #expect(spec().cpuLimit == nil)
        #expect(spec(limits: FunctionResources()).memoryLimitBytes == nil)
        let limited = spec(limits: FunctionResources(memory: "128Mi", cpu: "250m"))
        #expect(limited.memoryLimitBytes == Int64(134_217_728))
        #expect(limited.cpuLimit == 0.25)
        let garbage = spec(limits: FunctionResources(memory: "lots", cpu: "many"))
        #expect(garbage.memoryLimitBytes == nil)
        #expect(garbage.cpuLimit == nil)
    }

    @Test func specRoundTripsThroughJSON() throws {
        let original = FunctionSpec(
            name: "hello", runtime: .node, codeDigest: "ff", envVars: ["A": "1"], labels: ["l": "v"], annotations: ["a": "b"],
            secrets: ["s"], constraints: ["c"], envProcess: "node", limits: FunctionResources(memory: "64Mi"),
            requests: FunctionResources(cpu: "1"), createdAt: now, updatedAt: now.addingTimeInterval(5)
        )
        let decoded = try JSONDecoder().decode(FunctionSpec.self, from: JSONEncoder().encode(original))
        #expect(decoded == original)
    }
}

@Suite struct FunctionDeploymentCodingTests {
    private func jsonObject(_ value: some Encodable) throws -> [String: Any] {
        let data = try JSONEncoder().encode(value)
        #expect(!String(decoding: data, as: UTF8.self).contains("null"))
        return try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
    }

    @Test func minimalDeploymentOmitsAbsentFields() throws {
        let deployment = FunctionDeployment(service: "hello", runtime: "python3", code: "aGk=")
        let object = try jsonObject(deployment)
        #expect(Set(object.keys) == ["service", "runtime", "code"])
        #expect(object["service"] as? String == "hello")
        let decoded = try JSONDecoder().decode(FunctionDeployment.self, from: JSONEncoder().encode(deployment))
        #expect(decoded == deployment)
    }

    @Test func onlyServiceIsRequired() throws {
        let object = try jsonObject(FunctionDeployment(service: "x"))
        #expect(Set(object.keys) == ["service"])
        #expect(throws: DecodingError.self) { try JSONDecoder().decode(FunctionDeployment.self, from: Data("{}".utf8)) }
    }

    @Test func resourcesOmitAbsentFields() throws {
        let object = try jsonObject(FunctionResources(memory: "128Mi"))
        #expect(Set(object.keys) == ["memory"])
        let empty = try jsonObject(FunctionResources())
        #expect(empty.isEmpty)
    }

    @Test func fullDeploymentRoundTripsWithOpenFaaSKeys() throws {
        let deployment = FunctionDeployment(
            service: "hello", image: "img", namespace: "openfaas-fn", envProcess: "python index.py", envVars: ["A": "1"],
            constraints: ["c"], secrets: ["s"], labels: ["l": "v"], annotations: ["a": "b"],
            limits: FunctionResources(memory: "128Mi", cpu: "1"), requests: FunctionResources(memory: "64Mi"),
            readOnlyRootFilesystem: true, runtime: "python3", code: "aGk="
        )
        let object = try jsonObject(deployment)
        #expect(
            Set(object.keys) == [
                "service", "image", "namespace", "envProcess", "envVars", "constraints", "secrets", "labels", "annotations",
                "limits", "requests", "readOnlyRootFilesystem", "runtime", "code",
            ]
        )
        let decoded = try JSONDecoder().decode(FunctionDeployment.self, from: JSONEncoder().encode(deployment))
        #expect(decoded == deployment)
    }

    @Test func decodesOpenFaaSJSONIgnoringUnknownKeys() throws {
        let json = """
            {"service":"hello","network":"func_functions","envVars":{"write_debug":"true"},
             "limits":{"memory":"128Mi"},"runtime":"python3","code":"aGk=","unknown":{"deep":[1,2,null]}}
            """
        let decoded = try JSONDecoder().decode(FunctionDeployment.self, from: Data(json.utf8))
        #expect(decoded.service == "hello")
        #expect(decoded.envVars == ["write_debug": "true"])
        #expect(decoded.limits == FunctionResources(memory: "128Mi"))
        #expect(decoded.image == nil)
        #expect(decoded.labels == nil)
    }

    @Test func explicitNullsDecodeAsAbsent() throws {
        let json = #"{"service":"hello","image":null,"labels":null,"runtime":"node","code":"aGk="}"#
        let decoded = try JSONDecoder().decode(FunctionDeployment.self, from: Data(json.utf8))
        #expect(decoded == FunctionDeployment(service: "hello", runtime: "node", code: "aGk="))
    }

    @Test func wrongTypesAreRejected() {
        for json in [#"{"service":1}"#, #"{"service":"a","envVars":["x"]}"#, #"{"service":"a","labels":{"k":1}}"#, "[]", "null"] {
            #expect(throws: DecodingError.self, "\(json)") {
                try JSONDecoder().decode(FunctionDeployment.self, from: Data(json.utf8))
            }
        }
    }

    @Test func statusOmitsAbsentOptionalFields() throws {
        let status = FunctionSpec(name: "hello", runtime: .python3, codeDigest: "d", createdAt: now, updatedAt: now)
            .status(invocationCount: 0, replicas: 1, availableReplicas: 0)
        let object = try jsonObject(status)
        for key in ["envProcess", "envVars", "constraints", "secrets", "annotations", "limits", "requests"] {
            #expect(object[key] == nil, "\(key)")
        }
        #expect(object["readOnlyRootFilesystem"] as? Bool == true)
    }
}
