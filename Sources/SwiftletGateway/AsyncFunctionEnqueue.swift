import Foundation
import HTTPTypes
import Hummingbird
import Logging
import SwiftletCore
import SwiftletProviders
import SwiftletQueue
import SwiftletScheduler
import SwiftletStore

/// Serves `POST /async-function/{name}[.{namespace}][/path…][?query]`: stores the whole request
/// (method, path, query, headers, body) in the durable queue and answers 202 with `X-Call-Id`
/// only once it is committed. The caller's `X-Call-Id` is kept (and a second call with the same
/// id is refused with 409, so a client may safely resend after a lost answer).
struct AsyncFunctionEnqueue<Context: RemoteAddressRequestContext>: RouterMiddleware {
    let functions: any FunctionStore
    let scheduler: Scheduler
    let calls: any AsyncCallStore
    let workers: AsyncWorkers?
    let maxBodyBytes: Int

    static var prefix: String { "/async-function/" }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let path = request.uri.path
        guard path.hasPrefix(Self.prefix) else { return try await next(request, context) }
        let start = Date()
        guard request.method == .post else {
            return Response(
                status: .methodNotAllowed, headers: [.allow: "POST", .contentType: "text/plain; charset=utf-8"],
                body: .init(byteBuffer: ByteBuffer(string: "async calls are POST requests; use POST \(Self.prefix)NAME\n"))
            )
        }
        let target = try FunctionPath(path: path, prefix: Self.prefix)
        // The scheduler knows every deployed function without a store read; the store answers
        // for one it does not run (yet).
        var spec = await scheduler.deployedSpec(target.name)
        if spec == nil { spec = try await functions.function(named: target.name) }
        guard let spec else {
            throw SwiftletError(.notFound, "function '\(target.name)' not found; deploy it first (`swiftlet deploy \(target.name) …`)")
        }
        let callbackURL = try request.headers[.xCallbackURL].map { try CallbackURL.validate($0) }
        let callID = request.headers[.xCallID].flatMap(FunctionProxy<Context>.acceptableCallID) ?? UUID().uuidString
        let body = try await FunctionProxy<Context>.collectBody(request, limit: maxBodyBytes)
        var headers = FunctionProxy.forwardedHeaders(request, context: context)
        headers[.xCallID] = nil
        let call = AsyncCall(
            id: callID, function: target.name,
            request: AsyncRequest(
                method: request.method.rawValue, path: target.subPath + (request.uri.query.map { "?" + $0 } ?? ""),
                headers: headers.map { HeaderField(name: $0.name.rawName, value: $0.value) }, body: Data(body.readableBytesView)
            ),
            callbackURL: callbackURL, maxAttempts: AsyncLabels(spec).maxAttempts, createdAt: start
        )
        try await calls.enqueue(call)
        workers?.notify()
        context.logger.debug("async call queued", metadata: ["swiftlet.function": "\(target.name)", "swiftlet.call_id": "\(callID)"])
        return Response(
            status: .accepted,
            headers: [.xCallID: callID, .xStartTime: String(FunctionProxy<Context>.unixNanos(start)), .contentType: "text/plain; charset=utf-8"],
            body: .init(byteBuffer: ByteBuffer())
        )
    }
}

extension HTTPField.Name {
    static let xCallbackURL = HTTPField.Name("X-Callback-Url")!
}
