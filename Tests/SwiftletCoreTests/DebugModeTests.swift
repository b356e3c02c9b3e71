import Foundation
import Testing

@testable import SwiftletCore

private let code = Data("def handle(event, context):\n    return 'hi'\n".utf8).base64EncodedString()

private func deployment(debug: Bool? = nil, labels: [String: String]? = nil, envVars: [String: String]? = nil) -> FunctionDeployment {
    FunctionDeployment(service: "dbg", envVars: envVars, labels: labels, runtime: "python3", code: code, debug: debug)
}

@Suite struct DebugModeTests {
    @Test func offByDefault() throws {
        let spec = try DeploymentValidator().validate(deployment()).spec
        #expect(spec.debug == nil)
        #expect(!spec.isDebug)
        #expect(spec.execTimeout == FunctionSpec.defaultExecTimeout)
        #expect(spec.status(invocationCount: 0, replicas: 1, availableReplicas: 1).debug == nil)
    }

    @Test func debugFieldTurnsItOn() throws {
        let spec = try DeploymentValidator().validate(deployment(debug: true)).spec
        #expect(spec.isDebug)
        #expect(spec.status(invocationCount: 0, replicas: 1, availableReplicas: 1).debug == true)
        #expect(try DeploymentValidator().validate(deployment(debug: false)).spec.debug == nil)
    }

    @Test(arguments: ["true", "TRUE", "1"]) func labelTurnsItOn(value: String) throws {
        let spec = try DeploymentValidator().validate(deployment(labels: [DebugMode.label: value])).spec
        #expect(spec.isDebug)
        // The label is kept as given.
        #expect(spec.labels[DebugMode.label] == value)
    }

    @Test(arguments: ["false", "0", ""]) func labelFalseKeepsItOff(value: String) throws {
        #expect(try !DeploymentValidator().validate(deployment(labels: [DebugMode.label: value])).spec.isDebug)
    }

    @Test func badLabelValueIsRefused() {
        #expect(throws: SwiftletError.self) {
            _ = try DeploymentValidator().validate(deployment(labels: [DebugMode.label: "yes please"]))
        }
        do {
            _ = try DeploymentValidator().validate(deployment(labels: [DebugMode.label: "maybe"]))
        } catch {
            #expect(error.code == .invalidInput)
            #expect(error.message.contains(DebugMode.label))
        }
    }

    @Test func debugOverridesExecTimeout() throws {
        let spec = try DeploymentValidator().validate(deployment(debug: true, envVars: ["exec_timeout": "1s"])).spec
        #expect(spec.execTimeout == .seconds(3600))
        let normal = try DeploymentValidator().validate(deployment(envVars: ["exec_timeout": "1s"])).spec
        #expect(normal.execTimeout == .seconds(1))
    }

    @Test func jsonFieldRoundTrips() throws {
        let json = #"{"service":"dbg","runtime":"node","code":"eA==","debug":true}"#
        let decoded = try JSONDecoder().decode(FunctionDeployment.self, from: Data(json.utf8))
        #expect(decoded.debug == true)
        // Absent stays absent, so OpenFaaS clients see nothing new.
        let plain = try JSONEncoder().encode(FunctionDeployment(service: "x"))
        #expect(!String(decoding: plain, as: UTF8.self).contains("debug"))
        // A spec stored before debug mode existed decodes as off.
        let stored = try JSONEncoder().encode(FunctionSpec(name: "old", runtime: .node, codeDigest: "ab"))
        var object = try #require(JSONSerialization.jsonObject(with: stored) as? [String: Any])
        object.removeValue(forKey: "debug")
        let old = try JSONDecoder().decode(FunctionSpec.self, from: JSONSerialization.data(withJSONObject: object))
        #expect(!old.isDebug)
    }

    @Test func debuggersAndExposure() {
        #expect(DebugMode.debugger(for: .node) == .init(name: "node-inspector", port: 9229))
        #expect(DebugMode.debugger(for: .python3) == .init(name: "debugpy", port: 5678))
        for loopback in ["127.0.0.1", "127.0.0.2", "localhost", "::1"] { #expect(!DebugMode.isExposed(loopback)) }
        for exposed in ["0.0.0.0", "::", "192.168.1.10"] { #expect(DebugMode.isExposed(exposed)) }
    }
}
