/// Parsing of the quantities OpenFaaS deployments carry: memory, CPU and durations.
public enum ResourceQuantity {
    /// Parses memory like `128Mi`, `1G`, `512M`, `64k` or a plain byte count into bytes.
    public static func memoryBytes(_ text: String) throws(SwiftletError) -> Int64 {
        let trimmed = text.trimmingSpaces
        let units: [(String, Double)] = [
            ("Ki", 1024), ("Mi", 1024 * 1024), ("Gi", 1024 * 1024 * 1024), ("Ti", 1024 * 1024 * 1024 * 1024),
            ("k", 1000), ("K", 1000), ("M", 1_000_000), ("G", 1_000_000_000), ("T", 1_000_000_000_000),
        ]
        var number = Substring(trimmed)
        var factor = 1.0
        for (suffix, value) in units where trimmed.hasSuffix(suffix) {
            number = trimmed.dropLast(suffix.count)
            factor = value
            break
        }
        guard let value = Double(number), value.isFinite, value > 0 else {
            throw SwiftletError(.invalidInput, "invalid memory quantity '\(text.prefix(40))': use a size like 128Mi, 1Gi or 512M")
        }
        let bytes = value * factor
        guard bytes >= 4 * 1024 * 1024, bytes <= 1024 * 1024 * 1024 * 1024 else {
            throw SwiftletError(.invalidInput, "memory quantity '\(text.prefix(40))' is out of range: use between 4Mi and 1Ti")
        }
        return Int64(bytes)
    }

    /// Parses CPU like `100m`, `0.5` or `2` into a number of CPUs.
    public static func cpus(_ text: String) throws(SwiftletError) -> Double {
        let trimmed = text.trimmingSpaces
        let value: Double?
        if trimmed.hasSuffix("m") {
            value = Double(trimmed.dropLast()).map { $0 / 1000 }
        } else {
            value = Double(trimmed)
        }
        guard let value, value.isFinite, value >= 0.01, value <= 1024 else {
            throw SwiftletError(.invalidInput, "invalid CPU quantity '\(text.prefix(40))': use a value like 100m, 0.5 or 2 (at least 10m)")
        }
        return value
    }

    /// Parses a duration as OpenFaaS' watchdog does (Go syntax like `60s`, `1m30s`, `500ms`, `2h`),
    /// or a bare number of seconds.
    public static func duration(_ text: String) throws(SwiftletError) -> Duration {
        let trimmed = text.trimmingSpaces
        let invalid = SwiftletError(.invalidInput, "invalid duration '\(text.prefix(40))': use a value like 30s, 1m30s, 500ms or a number of seconds")
        if let seconds = Double(trimmed) {
            guard seconds.isFinite, seconds >= 0, seconds <= 1e9 else { throw invalid }
            return .milliseconds(Int64(seconds * 1000))
        }
        var total = 0.0
        var rest = Substring(trimmed)
        guard !rest.isEmpty else { throw invalid }
        let units: [(String, Double)] = [("ms", 0.001), ("us", 1e-6), ("µs", 1e-6), ("ns", 1e-9), ("h", 3600), ("m", 60), ("s", 1)]
        while !rest.isEmpty {
            let numberEnd = rest.firstIndex { !($0.isNumber || $0 == ".") } ?? rest.endIndex
            guard numberEnd != rest.startIndex, let value = Double(rest[..<numberEnd]) else { throw invalid }
            rest = rest[numberEnd...]
            guard let unit = units.first(where: { rest.hasPrefix($0.0) }) else { throw invalid }
            rest = rest.dropFirst(unit.0.count)
            total += value * unit.1
        }
        guard total.isFinite, total <= 1e9 else { throw invalid }
        return .milliseconds(Int64(total * 1000))
    }
}

extension String {
    var trimmingSpaces: String {
        var s = Substring(self)
        while let f = s.first, f.isWhitespace { s = s.dropFirst() }
        while let l = s.last, l.isWhitespace { s = s.dropLast() }
        return String(s)
    }
}
