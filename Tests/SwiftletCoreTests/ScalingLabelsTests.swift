import Foundation
import Testing

@testable import SwiftletCore

@Suite struct ScalingLabelsTests {
    typealias Key = ScalingLabels.Key

    @Test("absent labels give the OpenFaaS defaults")
    func defaults() throws {
        let labels = try ScalingLabels(validating: [:])
        #expect(labels.min == 1 && labels.max == 20 && !labels.zero)
        #expect(labels.zeroDuration == .seconds(900))
        #expect(labels.kind == .capacity && labels.target == 10)
        #expect(labels.maxQueue == 1000)
        #expect(labels.lowestReplicas == 1)
        #expect(try ScalingLabels(validating: [Key.type: "rps"]).target == 50)
    }

    @Test("valid labels are read; min 0 means the function may scale to zero")
    func valid() throws {
        let labels = try ScalingLabels(validating: [
            Key.min: "2", Key.max: "5", Key.zero: "true", Key.zeroDuration: "90s", Key.type: "RPS", Key.target: "7.5", Key.maxQueue: "0",
        ])
        #expect(labels.min == 2 && labels.max == 5 && labels.zero && labels.zeroDuration == .seconds(90))
        #expect(labels.kind == .rps && labels.target == 7.5 && labels.maxQueue == 0 && labels.lowestReplicas == 0)
        let minZero = try ScalingLabels(validating: [Key.min: "0"])
        #expect(minZero.zero && minZero.min == 1 && minZero.lowestReplicas == 0)
    }

    @Test(
        "bad values are refused with a message naming the label",
        arguments: [
            (Key.min, "abc"), (Key.min, "-1"), (Key.min, "101"), (Key.max, "0"), (Key.max, "1e9"), (Key.max, ""),
            (Key.zero, "maybe"), (Key.zeroDuration, "0s"), (Key.zeroDuration, "soon"), (Key.type, "cpu"), (Key.type, "memory"),
            (Key.target, "0"), (Key.target, "-3"), (Key.target, "nan"), (Key.target, "inf"), (Key.maxQueue, "-1"), (Key.maxQueue, "100001"),
        ]
    )
    func invalid(_ key: String, _ value: String) {
        #expect {
            try ScalingLabels(validating: [key: value])
        } throws: { error in
            guard let error = error as? SwiftletError else { return false }
            return error.code == .invalidInput && error.message.contains(key)
        }
    }

    @Test("min above max is refused")
    func minAboveMax() {
        #expect(throws: SwiftletError.self) { try ScalingLabels(validating: [Key.min: "5", Key.max: "3"]) }
    }

    @Test("a deployment with bad scaling labels or max_inflight is refused before anything is stored")
    func deploymentValidation() {
        let code = Data("def handle(event, context):\n    return 'hi'\n".utf8).base64EncodedString()
        for (labels, env) in [([Key.max: "lots"], [String: String]()), ([:], ["max_inflight": "-2"]), ([:], ["max_inflight": "two"])] {
            let deployment = FunctionDeployment(service: "f", envVars: env, labels: labels, runtime: "python3", code: code)
            #expect(throws: SwiftletError.self) { try DeploymentValidator().validate(deployment) }
        }
        let fine = FunctionDeployment(service: "f", envVars: ["max_inflight": "0"], labels: [Key.max: "3"], runtime: "python3", code: code)
        #expect(throws: Never.self) { try DeploymentValidator().validate(fine) }
    }
}
