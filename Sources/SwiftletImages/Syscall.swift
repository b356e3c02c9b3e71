import SwiftletCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Errors for failed system calls.
enum Syscall {
    /// An `.internal` error naming what failed and `errno`'s text.
    static func failure(_ what: String, errno code: Int32 = errno) -> SwiftletError {
        SwiftletError(
            .internal,
            "\(what): \(String(cString: strerror(code))); check free disk space and the permissions of the data directory"
        )
    }
}
