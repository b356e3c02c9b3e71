/// Prints rows as left-aligned columns, two spaces apart; the first row is the header.
func printTable(_ rows: [[String]]) {
    let columns = rows.map(\.count).max() ?? 0
    let widths = (0..<columns).map { column in rows.map { column < $0.count ? $0[column].count : 0 }.max() ?? 0 }
    for row in rows {
        print(row.enumerated().map { $0.element.padding(toLength: widths[$0.offset] + 2, withPad: " ", startingAt: 0) }.joined())
    }
}

/// Prints `key: value` lines with the values aligned.
func printFields(_ lines: [(String, String)]) {
    for (key, value) in lines { print("\((key + ":").padding(toLength: 14, withPad: " ", startingAt: 0))\(value)") }
}
