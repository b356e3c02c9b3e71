import ArgumentParser
import Foundation

/// How a client command finds and authenticates to the gateway.
struct GatewayOptions: ParsableArguments {
    @Option(name: .long, help: "The gateway URL (default: $SWIFTLET_URL, $OPENFAAS_URL or http://127.0.0.1:8080).")
    var gateway: String?

    @Option(name: .long, help: "The data directory whose credential files to use (default: $SWIFTLET_DATA_DIR or /var/lib/swiftlet).")
    var dataDir: String?

    /// The gateway's base URL without a trailing slash.
    var baseURL: String {
        let environment = ProcessInfo.processInfo.environment
        let url = gateway ?? environment["SWIFTLET_URL"] ?? environment["OPENFAAS_URL"] ?? "http://127.0.0.1:8080"
        return url.hasSuffix("/") ? String(url.dropLast()) : url
    }

    /// `SWIFTLET_USER`/`SWIFTLET_PASSWORD`, else the data directory's files, else none.
    var credentials: (user: String, password: String)? {
        let environment = ProcessInfo.processInfo.environment
        if let user = environment["SWIFTLET_USER"], let password = environment["SWIFTLET_PASSWORD"] {
            return (user, password)
        }
        return DataDirectory(option: dataDir).credentials()
    }

    func client() throws -> GatewayClient {
        guard let url = URL(string: baseURL), let scheme = url.scheme, ["http", "https"].contains(scheme), url.host != nil else {
            throw ValidationError("the gateway URL '\(baseURL)' is not an http(s) URL; pass --gateway http://HOST:PORT")
        }
        let token = ProcessInfo.processInfo.environment["SWIFTLET_TOKEN"].flatMap { $0.isEmpty ? nil : $0 }
        return GatewayClient(baseURL: baseURL, credentials: token == nil ? credentials : nil, token: token)
    }
}
