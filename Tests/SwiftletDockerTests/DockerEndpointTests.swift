import Foundation
import SwiftletCore
import SwiftletDocker
import Testing

/// Parses `value` and returns the error, recording an issue when it is accepted or the error is
/// not an `.invalidInput` SwiftletError.
private func refusedDockerHost(_ value: String, sourceLocation: SourceLocation = #_sourceLocation) -> SwiftletError? {
    do {
        let endpoint = try DockerEndpoint(dockerHost: value)
        Issue.record("DOCKER_HOST \(value.debugDescription) was accepted as \(endpoint.baseURL)", sourceLocation: sourceLocation)
        return nil
    } catch let error as SwiftletError {
        #expect(error.code == .invalidInput, "unexpected error: \(error.message)", sourceLocation: sourceLocation)
        return error
    } catch {
        Issue.record("expected a SwiftletError, got \(error)", sourceLocation: sourceLocation)
        return nil
    }
}

@Suite struct DockerEndpointTests {
    @Test(arguments: [nil, "", "   "] as [String?])
    func unsetMeansTheDefaultSocket(_ value: String?) throws {
        let endpoint = try DockerEndpoint(dockerHost: value)
        #expect(DockerEndpoint.defaultSocket == "/var/run/docker.sock")
        #expect(endpoint.socketPath == "/var/run/docker.sock")
        #expect(endpoint.baseURL.hasPrefix("http+unix://%2Fvar%2Frun%2Fdocker.sock"))
        #expect(endpoint.description == "unix:///var/run/docker.sock")
        #expect(endpoint == (try DockerEndpoint(dockerHost: "unix:///var/run/docker.sock")))
    }

    @Test func unixSocket() throws {
        let endpoint = try DockerEndpoint(dockerHost: "unix:///run/x.sock")
        #expect(endpoint.socketPath == "/run/x.sock")
        #expect(endpoint.baseURL == "http+unix://%2Frun%2Fx.sock")
        #expect(endpoint.description == "unix:///run/x.sock")
        // The host part of the URL decodes back to the path.
        #expect(endpoint.baseURL.dropFirst("http+unix://".count).removingPercentEncoding == "/run/x.sock")
    }

    @Test func tcp() throws {
        let endpoint = try DockerEndpoint(dockerHost: "tcp://127.0.0.1:2375")
        #expect(endpoint.baseURL == "http://127.0.0.1:2375")
        #expect(endpoint.socketPath == nil)
        #expect(endpoint.description == "tcp://127.0.0.1:2375")
    }

    @Test func surroundingBlanksAreTrimmed() throws {
        #expect(try DockerEndpoint(dockerHost: "  tcp://127.0.0.1:2375 ").baseURL == "http://127.0.0.1:2375")
    }

    @Test(arguments: [
        "unix://relative", "unix://", "unix://run/docker.sock", "unix:///", "tcp://host", "tcp://:2375", "tcp://h:0", "tcp://h:99999",
        "tcp://h:-1", "tcp://h:", "tcp://", "ssh://x", "ssh://user@host", "https://x", "http://x:2375", "npipe:////./pipe/docker",
        "/var/run/docker.sock", "docker.sock", "tcp://127.0.0.1: 2375", "unix:// /run/x.sock",
        "tcp://127.0.0.1:23 75",
    ])
    func badValuesAreRefused(_ value: String) {
        guard let error = refusedDockerHost(value) else { return }
        #expect(error.message.contains("'\(value.trimmingCharacters(in: .whitespaces))'"), "message: \(error.message)")
    }

    @Test(arguments: [
        String(repeating: "x", count: 10_240),
        "tcp://" + String(repeating: "h", count: 10_240),
        "unix://" + String(repeating: "r", count: 10_240),
    ])
    func hugeValueIsRefusedWithAShortMessage(_ value: String) {
        guard let error = refusedDockerHost(value) else { return }
        #expect(error.message.contains(String(value.prefix(80)) + "…"))
        #expect(error.message.count < 400)
    }

    /// Whitespace or control characters inside the address are refused at once, rather than
    /// failing later at connect time.
    @Test(arguments: ["tcp://my host:2375", "tcp://h\nx:2375", "unix:///var/run/docker.sock\r\nX: y", "unix:///var/run/do\u{7}cker.sock"])
    func innerWhitespaceIsRefused(_ value: String) {
        _ = refusedDockerHost(value)
    }

    /// Surrounding whitespace (a trailing newline from `$(cat file)`) is trimmed.
    @Test func surroundingNewlineIsTrimmed() throws {
        let endpoint = try DockerEndpoint(dockerHost: "unix:///var/run/docker.sock\n")
        #expect(endpoint.socketPath == "/var/run/docker.sock")
        #expect(try DockerEndpoint(dockerHost: "tcp://127.0.0.1:2375\n").baseURL == "http://127.0.0.1:2375")
        #expect(try DockerEndpoint(dockerHost: "\n").socketPath == DockerEndpoint.defaultSocket)
    }

    /// A socket path longer than sockaddr_un holds is refused.
    @Test func overlongSocketPathIsRefused() {
        _ = refusedDockerHost("unix:///" + String(repeating: "s", count: 200))
    }
}
