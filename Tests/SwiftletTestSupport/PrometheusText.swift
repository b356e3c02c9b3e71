import Foundation

/// The samples of a Prometheus text exposition, parsed just enough for tests.
public struct PrometheusText {
    /// One sample line.
    public struct Sample: Equatable, Sendable {
        /// The metric name (with `_bucket`, `_sum`, `_count` for histograms).
        public var name: String
        /// The labels.
        public var labels: [String: String]
        /// The value.
        public var value: Double
    }

    /// Every sample, in order.
    public var samples: [Sample] = []
    /// `# TYPE` lines: metric family name to its type.
    public var types: [String: String] = [:]

    /// Parses `text`.
    public init(_ text: String) {
        for line in text.split(separator: "\n").map(String.init) where !line.isEmpty {
            if line.hasPrefix("# TYPE ") {
                let parts = line.split(separator: " ")
                if parts.count == 4 { types[String(parts[2])] = String(parts[3]) }
                continue
            }
            if line.hasPrefix("#") { continue }
            guard let space = line.lastIndex(of: " "), let value = Double(line[line.index(after: space)...]) else { continue }
            let series = line[..<space]
            var labels: [String: String] = [:]
            let name: String
            if let brace = series.firstIndex(of: "{") {
                name = String(series[..<brace])
                let body = series[series.index(after: brace)..<(series.lastIndex(of: "}") ?? series.endIndex)]
                var rest = Substring(body)
                while let equals = rest.firstIndex(of: "=") {
                    let key = rest[..<equals].trimmingCharacters(in: CharacterSet(charactersIn: ", "))
                    var cursor = rest.index(equals, offsetBy: 2)  // past ="
                    var labelValue = ""
                    while cursor < rest.endIndex, rest[cursor] != "\"" {
                        if rest[cursor] == "\\" { cursor = rest.index(after: cursor) }
                        if cursor < rest.endIndex { labelValue.append(rest[cursor]) }
                        cursor = rest.index(after: cursor)
                    }
                    labels[key] = labelValue
                    rest = cursor < rest.endIndex ? rest[rest.index(after: cursor)...] : ""
                }
            } else {
                name = String(series)
            }
            samples.append(Sample(name: name, labels: labels, value: value))
        }
    }

    /// Every sample name (histograms contribute `_bucket`, `_sum` and `_count`).
    public var names: Set<String> { Set(samples.map(\.name)) }

    /// The samples named `name` whose labels include `labels`.
    public func matching(_ name: String, _ labels: [String: String] = [:]) -> [Sample] {
        samples.filter { sample in sample.name == name && labels.allSatisfy { sample.labels[$0.key] == $0.value } }
    }

    /// The sum of the samples named `name` whose labels include `labels`.
    public func sum(_ name: String, _ labels: [String: String] = [:]) -> Double {
        matching(name, labels).reduce(0) { $0 + $1.value }
    }
}
