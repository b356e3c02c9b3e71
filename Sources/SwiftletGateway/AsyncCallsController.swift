import Foundation
import Hummingbird
import NIOCore
import SwiftletCore
import SwiftletQueue
import SwiftletStore

/// The results API of async calls (behind basic auth):
/// `GET /system/async[?function=NAME&status=S&limit=N]` lists the newest calls with the counts
/// per status, `GET /system/async/{callId}` shows one call with its answer, and
/// `POST /system/async/{callId}/retry` re-queues a dead or failed call.
struct AsyncCallsController: Sendable {
    let calls: any AsyncCallStore
    let workers: AsyncWorkers?

    /// The most calls one list returns.
    static let maxLimit = 1000

    func addRoutes(to router: Router<SwiftletRequestContext>) {
        router.get("/system/async", use: list)
        router.get("/system/async/{callId}", use: show)
        router.post("/system/async/{callId}/retry", use: retry)
    }

    /// The `{callId}` path parameter, percent-decoded (ids may hold `/`, `?`, `%` …).
    static func callID(_ context: SwiftletRequestContext) throws -> String {
        let raw = try context.parameters.require("callId")
        return raw.removingPercentEncoding ?? raw
    }

    @Sendable func list(_ request: Request, context: SwiftletRequestContext) async throws -> Response {
        let query = request.uri.queryParameters
        var filter = AsyncCallFilter()
        if let qualified = query.get("function"), !qualified.isEmpty {
            let (name, namespace) = FunctionName.split(Substring(qualified))
            _ = try FunctionName.resolveNamespace(namespace.map(String.init))
            do { try FunctionName.validate(String(name)) } catch {
                throw SwiftletError(.invalidInput, "function '\(qualified.prefix(63))' is not a valid function name")
            }
            filter.function = String(name)
        }
        if let status = query.get("status"), !status.isEmpty {
            guard let value = AsyncCallStatus(rawValue: status) else {
                throw SwiftletError(
                    .invalidInput, "status '\(status.prefix(40))' is not one of \(AsyncCallStatus.allCases.map(\.rawValue).joined(separator: ", "))"
                )
            }
            filter.status = value
        }
        if let text = query.get("limit") {
            guard let limit = Int(text), (0...Self.maxLimit).contains(limit) else {
                throw SwiftletError(.invalidInput, "limit '\(text.prefix(20))' must be a whole number from 0 to \(Self.maxLimit)")
            }
            filter.limit = limit
        }
        let found = filter.limit > 0 ? try await calls.calls(matching: filter) : []
        let counts = try await calls.callCounts(function: filter.function)
        return try JSONResponse.make(AsyncCallList(counts: counts, calls: found.map { AsyncCallReport($0, includeBody: false) }))
    }

    @Sendable func show(_ request: Request, context: SwiftletRequestContext) async throws -> Response {
        let id = try Self.callID(context)
        guard let call = try await calls.call(id: id) else {
            throw SwiftletError(.notFound, "call '\(id.prefix(128))' not found; it may have been purged after its retention time")
        }
        return try JSONResponse.make(AsyncCallReport(call, includeBody: true))
    }

    @Sendable func retry(_ request: Request, context: SwiftletRequestContext) async throws -> Response {
        let id = try Self.callID(context)
        let call = try await calls.requeueCall(id: id, now: Date())
        workers?.notify()
        context.logger.info("async call re-queued", metadata: ["swiftlet.call_id": "\(id)", "swiftlet.function": "\(call.function)"])
        return try JSONResponse.make(AsyncCallReport(call, includeBody: false), status: .accepted)
    }
}
