import Foundation
import SwiftletCore
import Testing

@testable import SwiftletDocker

private let reference = "registry.example.com/team/fn:1.0"

/// Runs `checkUser` and returns the error, recording an issue when `user` is accepted.
private func refusedUser(_ user: String, sourceLocation: SourceLocation = #_sourceLocation) -> SwiftletError? {
    do {
        let ids = try DockerProvider.checkUser(user, reference: reference)
        Issue.record("user \(user.debugDescription) was accepted as \(ids)", sourceLocation: sourceLocation)
        return nil
    } catch let error as SwiftletError {
        #expect(error.code == .invalidInput, "unexpected error: \(error.message)", sourceLocation: sourceLocation)
        return error
    } catch {
        Issue.record("expected a SwiftletError, got \(error)", sourceLocation: sourceLocation)
        return nil
    }
}

private func imageSpec(
    image: String = "registry.example.com/team/fn:1.0", codeDigest: String = "", envVars: [String: String] = [:],
    labels: [String: String] = [:], isolation: IsolationTier? = nil, at date: Date = Date(timeIntervalSince1970: 1_700_000_000)
) -> FunctionSpec {
    FunctionSpec(
        name: "fn", runtime: nil, image: image, codeDigest: codeDigest, envVars: envVars, labels: labels, createdAt: date, updatedAt: date,
        isolation: isolation
    )
}

/// `object` at a key path of nested JSON dictionaries.
private func value(_ object: Any?, _ path: String...) -> Any? {
    path.reduce(object) { ($0 as? [String: Any])?[$1] }
}

@Suite struct DockerProviderLogicTests {
    // MARK: checkUser

    @Test(arguments: ["", "root", "0", "0:0", "root:root", ":0"])
    func rootIsRefused(_ user: String) {
        guard let error = refusedUser(user) else { return }
        #expect(error.message.contains("runs as root"), "message: \(error.message)")
        #expect(error.message.contains("com.swiftlet.user"), "message: \(error.message)")
        #expect(error.message.contains(reference), "message: \(error.message)")
    }

    /// uid 0 spelled other than `0` is root to the engine too, and so is an empty user before a
    /// group (`:1000`): the engine keeps its default user, root.
    @Test(arguments: ["00", "000:0", "+0", ":1000"])
    func rootSpelledDifferentlyIsRefused(_ user: String) {
        _ = refusedUser(user)
    }

    @Test func numericUser() throws {
        let ids = try DockerProvider.checkUser("10001", reference: reference)
        #expect(ids.uid == 10001)
        #expect(ids.gid == 10001)
    }

    @Test func numericUserAndGroup() throws {
        let ids = try DockerProvider.checkUser("10001:20", reference: reference)
        #expect(ids.uid == 10001)
        #expect(ids.gid == 20)
    }

    @Test(arguments: ["app", "app:staff"])
    func namedUserHasNoIDs(_ user: String) throws {
        let ids = try DockerProvider.checkUser(user, reference: reference)
        #expect(ids.uid == nil)
        #expect(ids.gid == nil)
    }

    // MARK: fingerprint

    @Test func fingerprintIgnoresTimestamps() {
        let first = imageSpec(at: Date(timeIntervalSince1970: 1_700_000_000))
        var later = imageSpec(at: Date(timeIntervalSince1970: 1_800_000_000))
        later.updatedAt = Date(timeIntervalSince1970: 1_900_000_000)
        #expect(DockerLabels.fingerprint(first) == DockerLabels.fingerprint(later))
        #expect(DockerLabels.fingerprint(first) == DockerLabels.fingerprint(first))
    }

    @Test func fingerprintIsSixteenHexCharacters() {
        let fingerprint = DockerLabels.fingerprint(imageSpec())
        #expect(fingerprint.count == 16)
        #expect(fingerprint.allSatisfy { "0123456789abcdef".contains($0) })
    }

    @Test func fingerprintFollowsWhatShapesAnInstance() {
        let base = DockerLabels.fingerprint(imageSpec())
        let changed = [
            imageSpec(envVars: ["A": "1"]),
            imageSpec(labels: ["team": "a"]),
            imageSpec(image: "registry.example.com/team/fn:2.0"),
            imageSpec(codeDigest: String(repeating: "a", count: 64)),
            imageSpec(isolation: .hardened),
            imageSpec(isolation: .standard),
        ].map(DockerLabels.fingerprint)
        for fingerprint in changed {
            #expect(fingerprint != base)
        }
        #expect(Set(changed).count == changed.count)
        // Equal maps give equal fingerprints whatever their insertion order.
        var forward: [String: String] = [:]
        var backward: [String: String] = [:]
        for index in 0..<50 { forward["K\(index)"] = "\(index)" }
        for index in (0..<50).reversed() { backward["K\(index)"] = "\(index)" }
        #expect(DockerLabels.fingerprint(imageSpec(envVars: forward)) == DockerLabels.fingerprint(imageSpec(envVars: backward)))
    }

    // MARK: registry auth

    @Test func registryAuthHeaderIsBase64URLOfTheEngineJSON() throws {
        let auth = DockerRegistryAuth(username: "user", password: "pa:ss?????>>>>>ü", serverAddress: "registry.example.com:5000")
        let header = auth.headerValue
        #expect(!header.contains("+"))
        #expect(!header.contains("/"))
        var standard = header.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        standard += String(repeating: "=", count: (4 - standard.count % 4) % 4)
        // The credentials were chosen so that plain base64 needs both characters the header translates.
        #expect(standard.contains("+") && standard.contains("/"))
        let data = try #require(Data(base64Encoded: standard))
        let json = try #require(try JSONSerialization.jsonObject(with: data) as? [String: String])
        #expect(json == ["username": "user", "password": "pa:ss?????>>>>>ü", "serveraddress": "registry.example.com:5000"])
    }

    // MARK: container config

    @Test func containerConfigEncodesTheEngineFieldNames() throws {
        var config = DockerContainerConfig(image: "sha256:abc")
        config.HostConfig.Mounts = [.init(source: "/srv/swiftlet/code/fn", target: "/home/app/function")]
        let data = try JSONEncoder().encode(config)
        let json = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        #expect(json["Image"] as? String == "sha256:abc")
        let host = try #require(json["HostConfig"] as? [String: Any])
        #expect(host["CapDrop"] as? [String] == ["ALL"])
        #expect(host["SecurityOpt"] as? [String] == ["no-new-privileges"])
        #expect(host["Init"] as? Bool == true)
        #expect(host["NetworkMode"] as? String == "none")
        #expect(value(host, "RestartPolicy", "Name") as? String == "no")
        #expect(host["IpcMode"] as? String == "private")
        #expect(host["Privileged"] == nil)
        #expect(json["Privileged"] == nil)
        #expect(host["Runtime"] == nil)
        let mounts = try #require(host["Mounts"] as? [[String: Any]])
        try #require(mounts.count == 1)
        #expect(mounts[0]["Type"] as? String == "bind")
        #expect(mounts[0]["Source"] as? String == "/srv/swiftlet/code/fn")
        #expect(mounts[0]["Target"] as? String == "/home/app/function")
        #expect(mounts[0]["ReadOnly"] as? Bool == true)
        #expect(value(mounts[0], "BindOptions", "Propagation") as? String == "rprivate")
    }

    @Test func containerConfigEncodesTheHardenedRuntime() throws {
        var config = DockerContainerConfig(image: "sha256:abc")
        config.HostConfig.Runtime = "runsc"
        let json = try JSONSerialization.jsonObject(with: try JSONEncoder().encode(config))
        #expect(value(json, "HostConfig", "Runtime") as? String == "runsc")
    }
}

/// The hardened tier needs runsc registered with `--network=host`; an engine without it refuses
/// the deploy with the daemon.json snippet that fixes it.
@Suite struct HardenedRuntimeTests {
    let endpoint = try! DockerEndpoint(dockerHost: "unix:///run/test.sock")

    func info(_ json: String) throws -> DockerInfo {
        try JSONDecoder().decode(DockerInfo.self, from: Data(json.utf8))
    }

    @Test func runscWithHostNetworkIsUsed() throws {
        let engine = try info(#"{"Runtimes": {"runc": {"path": "runc"}, "runsc": {"path": "/usr/bin/runsc", "runtimeArgs": ["--network=host"]}}}"#)
        #expect(try DockerProvider.hardenedRuntime(in: engine, endpoint: endpoint) == "runsc")
    }

    @Test(arguments: [#"{"Runtimes": {"runc": {"path": "runc"}}}"#, #"{}"#, #"{"Runtimes": {}}"#])
    func noRunscIsRefused(_ json: String) throws {
        let engine = try info(json)
        let error = #expect(throws: SwiftletError.self) { try DockerProvider.hardenedRuntime(in: engine, endpoint: endpoint) }
        #expect(error?.code == .unsupported)
        #expect(error?.message.contains("no runsc runtime") == true)
        #expect(error?.message.contains("unix:///run/test.sock") == true)
        #expect(error?.message.contains("daemon.json") == true)
    }

    @Test(arguments: [#"{"Runtimes": {"runsc": {"path": "/usr/bin/runsc"}}}"#, #"{"Runtimes": {"runsc": {"path": "/usr/bin/runsc", "runtimeArgs": ["--platform=ptrace"]}}}"#])
    func runscWithoutHostNetworkIsRefused(_ json: String) throws {
        let engine = try info(json)
        let error = #expect(throws: SwiftletError.self) { try DockerProvider.hardenedRuntime(in: engine, endpoint: endpoint) }
        #expect(error?.code == .unsupported)
        #expect(error?.message.contains("--network=host") == true)
    }
}
