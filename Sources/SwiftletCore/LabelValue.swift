import Foundation

/// Reading typed values out of a function's labels, with errors that name the label.
enum LabelValue {
    /// The whole number under `key`, or `fallback` when absent; throws when it does not parse or
    /// is outside `range`.
    static func integer(_ labels: [String: String], _ key: String, _ fallback: Int, range: ClosedRange<Int>) throws(SwiftletError) -> Int {
        guard let text = labels[key] else { return fallback }
        guard let value = Int(text.trimmingCharacters(in: .whitespaces)), range.contains(value) else {
            throw SwiftletError(.invalidInput, "label \(key) is '\(text.prefix(40))'; it must be a whole number from \(range.lowerBound) to \(range.upperBound)")
        }
        return value
    }
}
