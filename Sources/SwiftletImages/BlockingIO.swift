import Dispatch
import SwiftletCore

/// Runs blocking file work (unpacking, importing) on a Dispatch queue, off Swift's cooperative
/// thread pool, so long disk I/O never starves other tasks.
enum BlockingIO {
    static func run<T: Sendable>(_ body: @escaping @Sendable () throws(SwiftletError) -> T) async throws(SwiftletError) -> T {
        let result: Result<T, SwiftletError> = await withCheckedContinuation { continuation in
            DispatchQueue.global(qos: .userInitiated).async {
                continuation.resume(returning: Result { () throws(SwiftletError) in try body() })
            }
        }
        return try result.get()
    }
}
