import CSwiftletLinux
import Foundation
import SwiftletCore

/// Runs a host command to completion without blocking a Swift concurrency thread.
package enum CommandRunner {
    /// The outcome of a command.
    package struct Output: Sendable {
        package var status: Int32
        package var stdout: Data
        package var stderr: Data
        package var stderrText: String { String(decoding: stderr, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines) }
    }

    /// Runs `executable` to completion on the calling thread; throws when it fails.
    static func runSync(_ executable: String, _ arguments: [String]) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        try process.run()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw SwiftletError(.internal, "\(executable) \(arguments.joined(separator: " ")) failed with status \(process.terminationStatus)")
        }
    }

    /// Runs `executable` with `arguments`, its fds 0, 1 and 2 being `stdin` (nil: /dev/null),
    /// `stdout` and `stderr`, and no other descriptor of this process; returns its exit status.
    ///
    /// For runtimes that leave daemons behind (runsc's sandbox and gofer): Foundation's `Process`
    /// learns of a child's exit through a descriptor the child inherits, so it would wait for
    /// those daemons too.
    package static func spawn(_ executable: String, _ arguments: [String], stdin: CInt?, stdout: CInt, stderr: CInt) async throws -> Int32 {
        let null = open("/dev/null", O_RDONLY | O_CLOEXEC)
        guard null >= 0 else { throw SwiftletError(.internal, "cannot open /dev/null (errno \(errno))") }
        defer { close(null) }
        var argv: [UnsafeMutablePointer<CChar>?] = ([executable] + arguments).map { strdup($0) }
        argv.append(nil)
        defer { for pointer in argv { free(pointer) } }
        var pid: CInt = 0
        let result = cswiftlet_spawn(executable, argv, stdin ?? null, stdout, stderr, &pid)
        guard result == 0 else {
            throw SwiftletError(.internal, "cannot run \(executable): \(String(cString: strerror(-result))); is it installed?")
        }
        let child = pid
        let status = await withCheckedContinuation { continuation in
            DispatchQueue.global().async { continuation.resume(returning: cswiftlet_wait(child)) }
        }
        guard status >= 0 else {
            throw SwiftletError(.internal, "cannot wait for \(executable): \(String(cString: strerror(-status)))")
        }
        return status
    }

    /// Runs `executable` with `arguments`. When `stdout`/`stderr` handles are given, the child
    /// writes there and the corresponding output is empty.
    package static func run(
        _ executable: String, _ arguments: [String], stdin: FileHandle? = nil, stdout: FileHandle? = nil, stderr: FileHandle? = nil
    ) async throws -> Output {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.standardInput = stdin ?? FileHandle.nullDevice
        let outPipe = stdout == nil ? Pipe() : nil
        let errPipe = stderr == nil ? Pipe() : nil
        process.standardOutput = stdout ?? outPipe
        process.standardError = stderr ?? errPipe
        return try await withCheckedThrowingContinuation { continuation in
            // Read pipes on their own threads so a chatty child never blocks on a full pipe.
            let collected = CollectedOutput()
            let group = DispatchGroup()
            for (pipe, isOut) in [(outPipe, true), (errPipe, false)] {
                guard let pipe else { continue }
                group.enter()
                DispatchQueue.global().async {
                    let data = pipe.fileHandleForReading.readDataToEndOfFile()
                    collected.set(data, stdout: isOut)
                    group.leave()
                }
            }
            process.terminationHandler = { process in
                group.notify(queue: .global()) {
                    let (out, err) = collected.get()
                    continuation.resume(returning: Output(status: process.terminationStatus, stdout: out, stderr: err))
                }
            }
            do {
                try process.run()
            } catch {
                outPipe?.fileHandleForWriting.closeFile()
                errPipe?.fileHandleForWriting.closeFile()
                process.terminationHandler = nil
                continuation.resume(throwing: SwiftletError(.internal, "cannot run \(executable): \(error.localizedDescription); is it installed?", cause: error))
                return
            }
            outPipe?.fileHandleForWriting.closeFile()
            errPipe?.fileHandleForWriting.closeFile()
        }
    }
}

private final class CollectedOutput: @unchecked Sendable {
    private let lock = NSLock()
    private var out = Data()
    private var err = Data()

    func set(_ data: Data, stdout: Bool) {
        lock.withLock {
            if stdout { out = data } else { err = data }
        }
    }

    func get() -> (Data, Data) { lock.withLock { (out, err) } }
}
