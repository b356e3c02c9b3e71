import Foundation
import SwiftletCore

/// The data directory and the credential files in it.
struct DataDirectory {
    /// The default location.
    static let defaultPath = "/var/lib/swiftlet"

    let path: String

    /// `--data-dir`, else `SWIFTLET_DATA_DIR`, else `/var/lib/swiftlet`.
    init(option: String?) {
        let raw = option ?? ProcessInfo.processInfo.environment["SWIFTLET_DATA_DIR"] ?? Self.defaultPath
        path = URL(fileURLWithPath: raw).standardizedFileURL.path
    }

    var database: String { path + "/swiftlet.db" }
    var userFile: String { path + "/basic-auth-user" }
    var passwordFile: String { path + "/basic-auth-password" }

    /// Creates the directory (0700) and the credential files when missing; returns whether the
    /// password was created now.
    func prepare() throws -> Bool {
        let fm = FileManager.default
        do {
            try fm.createDirectory(atPath: path, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
            try fm.setAttributes([.posixPermissions: 0o700], ofItemAtPath: path)
        } catch {
            throw SwiftletError(.internal, "cannot create the data directory \(path): \(error.localizedDescription); pick another with --data-dir")
        }
        var created = false
        if !fm.fileExists(atPath: userFile) {
            try write("admin\n", to: userFile)
        }
        if !fm.fileExists(atPath: passwordFile) {
            try write(Self.randomPassword() + "\n", to: passwordFile)
            created = true
        }
        return created
    }

    /// The credentials in the files, trimmed, if both are readable.
    func credentials() -> (user: String, password: String)? {
        guard let user = try? String(contentsOfFile: userFile, encoding: .utf8),
            let password = try? String(contentsOfFile: passwordFile, encoding: .utf8)
        else { return nil }
        let u = user.trimmingCharacters(in: .whitespacesAndNewlines)
        let p = password.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !u.isEmpty, !p.isEmpty else { return nil }
        return (u, p)
    }

    private func write(_ text: String, to file: String) throws {
        let fd = open(file, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard fd >= 0 else {
            throw SwiftletError(.internal, "cannot create \(file) (errno \(errno)); check the data directory's permissions")
        }
        defer { close(fd) }
        let bytes = Array(text.utf8)
        guard Foundation.write(fd, bytes, bytes.count) == bytes.count else {
            throw SwiftletError(.internal, "cannot write \(file); check free disk space")
        }
    }

    /// 32 characters from a 62-letter alphabet, from the system's secure generator.
    static func randomPassword() -> String {
        let alphabet = Array("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")
        var generator = SystemRandomNumberGenerator()
        return String((0..<32).map { _ in alphabet[Int(generator.next(upperBound: UInt64(alphabet.count)))] })
    }
}
