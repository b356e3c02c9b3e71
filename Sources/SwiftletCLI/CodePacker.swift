import Foundation
import SwiftletCore

/// Reads a handler file, or packs a folder as a `.tar.gz` bundle with the system's tar.
enum CodePacker {
    /// The largest code the CLI sends.
    static let maxBytes = 8 * 1024 * 1024

    static func pack(path: String) throws -> Data {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw SwiftletError(.invalidInput, "--code \(path) does not exist; give a handler file or a folder")
        }
        let data: Data
        if isDirectory.boolValue {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/bin/tar")
            process.arguments = ["--owner=0", "--group=0", "--numeric-owner", "--exclude=__pycache__", "--exclude=node_modules/.cache", "-czf", "-", "-C", path, "."]
            let pipe = Pipe()
            process.standardOutput = pipe
            let errors = Pipe()
            process.standardError = errors
            do {
                try process.run()
            } catch {
                throw SwiftletError(.internal, "cannot run /bin/tar to pack \(path): \(error.localizedDescription)")
            }
            let output = pipe.fileHandleForReading.readDataToEndOfFile()
            let errorText = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            process.waitUntilExit()
            guard process.terminationStatus == 0 else {
                throw SwiftletError(.internal, "packing \(path) failed: \(errorText.trimmingCharacters(in: .whitespacesAndNewlines))")
            }
            data = output
        } else {
            guard let contents = FileManager.default.contents(atPath: path) else {
                throw SwiftletError(.invalidInput, "cannot read \(path); check its permissions")
            }
            data = contents
        }
        guard data.count <= maxBytes else {
            throw SwiftletError(.tooLarge, "the code at \(path) is \(data.count) bytes packed; the limit is \(maxBytes) bytes")
        }
        return data
    }
}
