import Foundation

/// The rotated files of one function: `current.log`, then `current.log.1` (older) up to
/// `current.log.<files-1>`. Blocking; the store calls it from its thread pool under its lock.
final class RotatingLogFile: @unchecked Sendable {
    let directory: String
    let maxBytes: Int
    let files: Int
    private var descriptor: CInt = -1
    private var size = 0

    init(directory: String, maxBytes: Int, files: Int) {
        self.directory = directory
        self.maxBytes = max(1, maxBytes)
        self.files = max(1, files)
    }

    deinit { close() }

    var currentPath: String { directory + "/current.log" }

    func path(generation: Int) -> String { generation == 0 ? currentPath : currentPath + ".\(generation)" }

    /// Appends `data` (whole lines), rotating first when the current file would outgrow the limit.
    func append(_ data: [UInt8]) throws {
        try openIfNeeded()
        if size > 0, size + data.count > maxBytes {
            try rotate()
        }
        var written = 0
        while written < data.count {
            let result = data.withUnsafeBytes { buffer in
                Foundation.write(descriptor, buffer.baseAddress! + written, data.count - written)
            }
            if result < 0 {
                if errno == EINTR { continue }
                throw LogStoreError(message: "cannot write \(currentPath): \(String(cString: strerror(errno)))")
            }
            written += result
        }
        size += data.count
    }

    /// Closes the open file (it is opened again on the next append).
    func close() {
        if descriptor >= 0 {
            _ = Foundation.close(descriptor)
            descriptor = -1
        }
    }

    private func openIfNeeded() throws {
        guard descriptor < 0 else { return }
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let fd = open(currentPath, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o640)
        guard fd >= 0 else {
            throw LogStoreError(message: "cannot open \(currentPath): \(String(cString: strerror(errno)))")
        }
        var info = stat()
        size = fstat(fd, &info) == 0 ? Int(info.st_size) : 0
        descriptor = fd
    }

    private func rotate() throws {
        close()
        if files == 1 {
            _ = unlink(currentPath)
        } else {
            _ = unlink(path(generation: files - 1))
            for generation in stride(from: files - 2, through: 0, by: -1) {
                _ = rename(path(generation: generation), path(generation: generation + 1))
            }
        }
        try openIfNeeded()
    }

    /// Every stored entry, oldest first; lines that do not decode are skipped.
    func readAll() -> [LogEntry] {
        let decoder = JSONDecoder()
        var entries: [LogEntry] = []
        for generation in stride(from: files - 1, through: 0, by: -1) {
            guard let data = FileManager.default.contents(atPath: path(generation: generation)) else { continue }
            for line in data.split(separator: UInt8(ascii: "\n")) {
                if let entry = try? decoder.decode(LogEntry.self, from: line) {
                    entries.append(entry)
                }
            }
        }
        return entries
    }
}

/// A failure of the log store's disk I/O.
public struct LogStoreError: Error, CustomStringConvertible {
    /// What went wrong.
    public var message: String
    /// The message.
    public var description: String { message }
}
