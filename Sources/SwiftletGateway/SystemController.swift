import Hummingbird
import NIOCore
import SwiftletCore
import SwiftletProviders

/// `/healthz` (503 with the reason when the provider cannot start instances, such as a Docker
/// engine that does not answer), `/system/info` and `/system/namespaces`.
struct SystemController: Sendable {
    let version: String
    let provider: any Provider

    func addRoutes(to router: Router<SwiftletRequestContext>) {
        router.get("/healthz") { _, _ in
            if let problem = await provider.health() { throw problem }
            return "OK"
        }
        router.get("/system/info") { _, _ in try JSONResponse.make(info) }
        router.get("/system/namespaces") { _, _ in try JSONResponse.make([FunctionName.defaultNamespace]) }
    }

    struct VersionInfo: Codable, Sendable {
        var sha: String
        var release: String
        var commit_message: String
    }

    struct ProviderInfo: Codable, Sendable {
        var provider: String
        var orchestration: String
        var version: VersionInfo
    }

    struct Info: Codable, Sendable {
        var provider: ProviderInfo
        var version: VersionInfo
        var arch: String
    }

    var info: Info {
        let version = VersionInfo(sha: "", release: version, commit_message: "")
        #if arch(x86_64)
        let arch = "x86_64"
        #elseif arch(arm64)
        let arch = "aarch64"
        #else
        let arch = "unknown"
        #endif
        return Info(provider: ProviderInfo(provider: "swiftlet",  orchestration: provider.orchestration, version: version), version: version, arch: arch)
    }
}
