import HTTPTypes
import HummingbirdTesting
import NIOCore
import SwiftletGateway
import Testing

/// CORS is off by default; with `--cors-origin` only the listed origins get CORS headers, and a
/// preflight is answered before auth (it carries no credentials).
@Suite("CORS")
struct CORSTests {
    static let origin = HTTPField.Name("Origin")!
    static let allowOrigin = HTTPField.Name("Access-Control-Allow-Origin")!
    static let requestMethod = HTTPField.Name("Access-Control-Request-Method")!
    static let allowMethods = HTTPField.Name("Access-Control-Allow-Methods")!

    @Test("off by default: no CORS header for any origin")
    func offByDefault() async throws {
        try await GatewayLimitsTests.withGateway(GatewayLimits()) { client, _ in
            let answer = try await client.execute(uri: "/healthz", method: .get, headers: [Self.origin: "https://app.example.com"])
            #expect(answer.status == .ok && answer.headers[Self.allowOrigin] == nil)
            let preflight = try await client.execute(
                uri: "/system/functions", method: .options, headers: [Self.origin: "https://app.example.com", Self.requestMethod: "POST"]
            )
            #expect(preflight.headers[Self.allowOrigin] == nil)
        }
    }

    @Test("a listed origin gets CORS headers and a preflight answer; others get none")
    func listedOrigins() async throws {
        try await GatewayLimitsTests.withGateway(GatewayLimits(), corsOrigins: ["https://app.example.com", "http://localhost:3000"]) { client, _ in
            let preflight = try await client.execute(
                uri: "/system/functions", method: .options, headers: [Self.origin: "https://app.example.com", Self.requestMethod: "POST"]
            )
            #expect(preflight.status.code < 300, "\(preflight.status)")
            #expect(preflight.headers[Self.allowOrigin] == "https://app.example.com")
            #expect(preflight.headers[Self.allowMethods]?.contains("POST") == true)
            let simple = try await client.execute(uri: "/healthz", method: .get, headers: [Self.origin: "http://localhost:3000"])
            #expect(simple.headers[Self.allowOrigin] == "http://localhost:3000")
            for evil in ["https://evil.example", "https://app.example.com.evil.example", "null", "HTTPS://APP.EXAMPLE.COM"] {
                let answer = try await client.execute(uri: "/healthz", method: .get, headers: [Self.origin: evil])
                #expect(answer.status == .ok && answer.headers[Self.allowOrigin] == nil, "\(evil)")
            }
        }
    }

    @Test("* allows every origin, without credentials")
    func anyOrigin() async throws {
        try await GatewayLimitsTests.withGateway(GatewayLimits(), corsOrigins: ["*"]) { client, _ in
            let answer = try await client.execute(uri: "/healthz", method: .get, headers: [Self.origin: "https://anything.example"])
            #expect(answer.headers[Self.allowOrigin] == "*")
            #expect(answer.headers[HTTPField.Name("Access-Control-Allow-Credentials")!] == nil)
        }
    }
}
