import Foundation
import Testing

@testable import SwiftletCore

private let handler = "def handle(event, context):\n    return {\"statusCode\": 200, \"body\": \"hi\"}\n"
private let now = Date(timeIntervalSince1970: 1_700_000_000)

private func base64(_ text: String) -> String { Data(text.utf8).base64EncodedString() }

private func deployment(labels: [String: String]? = nil, isolation: String? = nil, registryAuth: String? = nil) -> FunctionDeployment {
    FunctionDeployment(
        service: "hello", labels: labels, runtime: "python3", code: base64(handler), isolation: isolation, registryAuth: registryAuth
    )
}

@Suite struct IsolationTierTests {
    // MARK: IsolationTier.requested

    @Test func unsetMeansThePlatformDefault() throws {
        #expect(try IsolationTier.requested(deployment()) == nil)
        #expect(try IsolationTier.requested(deployment(labels: ["team": "a"])) == nil)
    }

    @Test(arguments: [("hardened", IsolationTier.hardened), ("standard", .standard), ("HARDENED", .hardened), ("Standard", .standard)])
    func field(_ text: String, _ tier: IsolationTier) throws {
        #expect(try IsolationTier.requested(deployment(isolation: text)) == tier)
    }

    @Test(arguments: [("hardened", IsolationTier.hardened), ("standard", .standard), ("HARDENED", .hardened)])
    func label(_ text: String, _ tier: IsolationTier) throws {
        #expect(IsolationTier.label == "com.swiftlet.isolation")
        #expect(try IsolationTier.requested(deployment(labels: ["com.swiftlet.isolation": text])) == tier)
    }

    @Test func fieldAndLabelThatAgree() throws {
        #expect(try IsolationTier.requested(deployment(labels: ["com.swiftlet.isolation": "hardened"], isolation: "hardened")) == .hardened)
        #expect(try IsolationTier.requested(deployment(labels: ["com.swiftlet.isolation": "hardened"], isolation: "HARDENED")) == .hardened)
    }

    @Test func fieldAndLabelThatDisagree() {
        let error = expectSwiftletError(.invalidInput) { () throws(SwiftletError) in
            _ = try IsolationTier.requested(deployment(labels: ["com.swiftlet.isolation": "standard"], isolation: "hardened"))
        }
        #expect(error?.message.contains("com.swiftlet.isolation") == true)
    }

    @Test(arguments: [
        deployment(isolation: "paranoid"), deployment(labels: ["com.swiftlet.isolation": "paranoid"]),
        deployment(labels: ["com.swiftlet.isolation": "paranoid"], isolation: "hardened"), deployment(isolation: ""),
        deployment(isolation: " hardened"),
    ])
    func unknownValue(_ deployment: FunctionDeployment) {
        let error = expectSwiftletError(.invalidInput) { () throws(SwiftletError) in _ = try IsolationTier.requested(deployment) }
        #expect(error?.message.contains("standard or hardened") == true, "message: \(error?.message ?? "")")
    }

    @Test func unknownValueIsQuotedShort() {
        let error = expectSwiftletError(.invalidInput) { () throws(SwiftletError) in
            _ = try IsolationTier.requested(deployment(isolation: String(repeating: "x", count: 10_000)))
        }
        #expect((error?.message.count ?? .max) < 200)
    }

    // MARK: NetworkAccess

    @Test func networkAbsentIsNone() throws {
        #expect(try NetworkAccess(labels: [:]) == NetworkAccess.none)
        #expect(try NetworkAccess(labels: ["team": "a"]) == NetworkAccess.none)
    }

    @Test(arguments: [("egress", NetworkAccess.egress), ("EGRESS", .egress), ("none", .none), ("None", .none)])
    func networkLabel(_ text: String, _ access: NetworkAccess) throws {
        #expect(try NetworkAccess(labels: ["com.swiftlet.network": text]) == access)
    }

    @Test(arguments: ["internet", "", "egress ", "host"])
    func badNetworkLabel(_ text: String) {
        let error = expectSwiftletError(.invalidInput) { () throws(SwiftletError) in
            _ = try NetworkAccess(labels: ["com.swiftlet.network": text])
        }
        #expect(error?.message.contains("none or egress") == true)
    }

    // MARK: DeploymentValidator

    @Test func validatorSetsTheIsolation() throws {
        let validator = DeploymentValidator()
        #expect(try validator.validate(deployment(isolation: "hardened"), now: now).spec.isolation == .hardened)
        #expect(try validator.validate(deployment(labels: ["com.swiftlet.isolation": "standard"]), now: now).spec.isolation == .standard)
        #expect(try validator.validate(deployment(), now: now).spec.isolation == nil)
    }

    @Test func validatorRefusesABadIsolation() {
        _ = expectSwiftletError(.invalidInput) { () throws(SwiftletError) in
            _ = try DeploymentValidator().validate(deployment(isolation: "paranoid"), now: now)
        }
    }

    @Test func validatorRefusesABadNetworkLabel() {
        let error = expectSwiftletError(.invalidInput) { () throws(SwiftletError) in
            _ = try DeploymentValidator().validate(deployment(labels: ["com.swiftlet.network": "internet"]), now: now)
        }
        #expect(error?.message.contains("com.swiftlet.network") == true)
    }

    @Test func validatorKeepsTheNetworkLabel() throws {
        let spec = try DeploymentValidator().validate(deployment(labels: ["com.swiftlet.network": "egress"]), now: now).spec
        #expect(spec.networkAccess == .egress)
    }

    @Test func registryAuthIsDecoded() throws {
        let validated = try DeploymentValidator().validate(deployment(registryAuth: base64("user:pa:ss")), now: now)
        let auth = try #require(validated.registryAuth)
        #expect(auth.username == "user")
        #expect(auth.password == "pa:ss")
    }

    @Test func emptyOrAbsentRegistryAuthIsNone() throws {
        #expect(try DeploymentValidator().validate(deployment(registryAuth: ""), now: now).registryAuth == nil)
        #expect(try DeploymentValidator().validate(deployment(), now: now).registryAuth == nil)
    }

    @Test(arguments: [
        "not base64!", base64("userpassword"), base64(":pw"), base64("user:" + String(repeating: "p", count: 8 * 1024)),
        String(repeating: "A", count: 8 * 1024 + 4),
    ])
    func badRegistryAuthIsRefused(_ text: String) {
        let error = expectSwiftletError(.invalidInput) { () throws(SwiftletError) in
            _ = try DeploymentValidator().validate(deployment(registryAuth: text), now: now)
        }
        #expect(error?.message.contains("registryAuth") == true)
        // Credentials never appear in messages.
        #expect(error?.message.contains(String(text.prefix(12))) == false)
    }
}
