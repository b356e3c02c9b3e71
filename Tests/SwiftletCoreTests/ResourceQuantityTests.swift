import Foundation
import Testing

@testable import SwiftletCore

@Suite struct ResourceQuantityTests {
    // MARK: memory

    static let mi: Int64 = 1024 * 1024
    static let validMemory: [(String, Int64)] = [
        ("128Mi", 128 * mi), ("1Gi", 1024 * mi), ("4Mi", 4 * mi), ("1Ti", 1024 * 1024 * mi), ("512M", 512_000_000),
        ("1G", 1_000_000_000), ("1T", 1_000_000_000_000), ("5000k", 5_000_000), ("5000K", 5_000_000), ("8192Ki", 8 * mi),
        ("4194304", 4_194_304), (" 256Mi ", 256 * mi), ("\t64Mi\n", 64 * mi), ("1.5Gi", 1536 * mi), ("0.5Gi", 512 * mi),
        ("1e3Mi", 1000 * mi),
    ]

    @Test(arguments: validMemory)
    func memoryValid(_ text: String, _ bytes: Int64) throws {
        #expect(try ResourceQuantity.memoryBytes(text) == bytes)
    }

    @Test(arguments: [
        "", " ", "Mi", "Gi", "abc", "lots", "-128Mi", "-1", "0", "0Mi", "-0", "nan", "NaN", "nanMi", "inf", "infGi", "-infMi",
        "infinity", "1Pi", "128MiB", "128mi", "128 Mi", "12,8Mi", "1_000Mi", "1e400", "1e308Ti", "2Ti", "1.1Ti", "1Ki", "64k",
        "4194303", "99999999999999999999999999999Ti", "128Mi\0", "½Gi", "١٢٨Mi",
    ])
    func memoryInvalid(_ text: String) {
        let error = expectSwiftletError(.invalidInput) { () throws(SwiftletError) in _ = try ResourceQuantity.memoryBytes(text) }
        #expect(error?.message.contains("memory quantity") == true)
    }

    @Test func memoryMessageIsTruncatedForHugeInput() {
        let error = expectSwiftletError(.invalidInput) { () throws(SwiftletError) in
            _ = try ResourceQuantity.memoryBytes(String(repeating: "9", count: 100_000) + "Qi")
        }
        #expect((error?.message.count ?? .max) < 300)
    }

    // MARK: cpu

    static let validCPU: [(String, Double)] = [
        ("100m", 0.1), ("500m", 0.5), ("10m", 0.01), ("1000m", 1.0), ("0.5", 0.5), ("2", 2.0), ("1024", 1024.0), (" 2 ", 2.0),
        ("0.01", 0.01), ("1.25", 1.25),
    ]

    @Test(arguments: validCPU)
    func cpuValid(_ text: String, _ cpus: Double) throws {
        let value = try ResourceQuantity.cpus(text)
        #expect(abs(value - cpus) < 1e-12)
    }

    @Test(arguments: [
        "", " ", "m", "0", "0m", "9m", "0.009", "-1", "-100m", "nan", "nanm", "inf", "infm", "-inf", "1025", "1025000m",
        "1e400", "abc", "1 cpu", "100M", "100mm", "1,5", "two", "100m\0",
    ])
    func cpuInvalid(_ text: String) {
        let error = expectSwiftletError(.invalidInput) { () throws(SwiftletError) in _ = try ResourceQuantity.cpus(text) }
        #expect(error?.message.contains("CPU quantity") == true)
    }

    // MARK: duration

    static let validDurations: [(String, Duration)] = [
        ("60s", .seconds(60)), ("1m30s", .seconds(90)), ("500ms", .milliseconds(500)), ("2h", .seconds(7200)),
        ("1h2m3s", .seconds(3723)), ("1.5s", .milliseconds(1500)), ("1.5h", .seconds(5400)), ("30", .seconds(30)),
        ("1.5", .milliseconds(1500)), ("0", .zero), ("0s", .zero), (" 10s ", .seconds(10)), ("1000000us", .seconds(1)),
        ("1000000µs", .seconds(1)), ("2000000000ns", .seconds(2)), ("1e9", .seconds(1_000_000_000)), ("1s500ms", .milliseconds(1500)),
    ]

    @Test(arguments: validDurations)
    func durationValid(_ text: String, _ expected: Duration) throws {
        #expect(try ResourceQuantity.duration(text) == expected)
    }

    @Test(arguments: [
        "", " ", "s", "ms", "abc", "-1s", "-5", "-0.5", "1x", "1d", "1y", "10 s", "s10", "1e10", "1e9s", "1000000000h",
        "300000000000000000000s", "nan", "NaN", "inf", "-inf", "infs", "1.2.3s", ".s", "½s", "٣s", "1s-1s", "60S",
        "1h1", "1s\0", "+5s",
    ])
    func durationInvalid(_ text: String) {
        let error = expectSwiftletError(.invalidInput) { () throws(SwiftletError) in _ = try ResourceQuantity.duration(text) }
        #expect(error?.message.contains("invalid duration") == true)
    }

    @Test func durationOfManyComponentsSums() throws {
        let text = String(repeating: "1s", count: 1000)
        #expect(try ResourceQuantity.duration(text) == .seconds(1000))
    }
}
