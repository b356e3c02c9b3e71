import Foundation

/// Builds small tar.gz archives byte by byte, including entries real tar refuses to write.
enum TarFixture {
    enum Entry {
        case file(String, String)
        case symlink(String, String)
    }

    static func gzip(_ entries: [Entry]) throws -> Data {
        var tar = Data()
        for entry in entries {
            switch entry {
            case .file(let path, let content):
                tar += header(path: path, type: "0", size: content.utf8.count, link: "")
                tar += Data(content.utf8)
                tar += Data(repeating: 0, count: (512 - content.utf8.count % 512) % 512)
            case .symlink(let path, let target):
                tar += header(path: path, type: "2", size: 0, link: target)
            }
        }
        tar += Data(repeating: 0, count: 1024)
        // gzip with the system's gzip, as a user's tools would.
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/gzip")
        process.arguments = ["-c"]
        let input = Pipe()
        let output = Pipe()
        process.standardInput = input
        process.standardOutput = output
        try process.run()
        input.fileHandleForWriting.write(tar)
        try input.fileHandleForWriting.close()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return data
    }

    static func header(path: String, type: Character, size: Int, link: String) -> Data {
        var block = [UInt8](repeating: 0, count: 512)
        func put(_ text: String, at offset: Int, length: Int) {
            for (i, byte) in text.utf8.prefix(length).enumerated() { block[offset + i] = byte }
        }
        put(path, at: 0, length: 100)
        put("0000644", at: 100, length: 8)
        put("0000000", at: 108, length: 8)
        put("0000000", at: 116, length: 8)
        put(String(format: "%011o", size), at: 124, length: 12)
        put("00000000000", at: 136, length: 12)
        put("        ", at: 148, length: 8)
        block[156] = UInt8(ascii: type.unicodeScalars.first!)
        put(link, at: 157, length: 100)
        put("ustar", at: 257, length: 6)
        put("00", at: 263, length: 2)
        let sum = block.reduce(0) { $0 + Int($1) }
        put(String(format: "%06o", sum) + "\0 ", at: 148, length: 8)
        return Data(block)
    }
}
