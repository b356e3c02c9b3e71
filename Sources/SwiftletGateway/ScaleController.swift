import Hummingbird
import NIOCore
import SwiftletCore
import SwiftletProviders
import SwiftletScheduler
import SwiftletStore

/// `POST /system/scale-function/{name}` (the OpenFaaS scale API) and `GET /system/pool` (the
/// warm pool's state).
struct ScaleController: Sendable {
    let store: any FunctionStore
    let scheduler: Scheduler
    let warmPool: WarmPool?

    /// The scale request body.
    struct ScaleRequest: Decodable {
        var serviceName: String?
        var namespace: String?
        var replicas: Int
    }

    func addRoutes(to router: Router<SwiftletRequestContext>) {
        router.post("/system/scale-function/{name}", use: scale)
        router.get("/system/pool", use: pool)
    }

    @Sendable func scale(_ request: Request, context: SwiftletRequestContext) async throws -> Response {
        let qualified = try context.parameters.require("name")
        let (name, pathNamespace) = FunctionName.split(Substring(qualified))
        let body = try await JSONBody.decode(ScaleRequest.self, from: request, context: context)
        _ = try FunctionName.resolveNamespace(body.namespace ?? pathNamespace.map(String.init))
        if let serviceName = body.serviceName, !serviceName.isEmpty, serviceName != String(name), serviceName != qualified {
            throw SwiftletError(.invalidInput, "serviceName '\(serviceName.prefix(63))' does not match the function in the path ('\(name.prefix(63))')")
        }
        do {
            try FunctionName.validate(String(name))
        } catch {
            throw SwiftletError(.notFound, "function '\(name.prefix(63))' not found")
        }
        guard try await store.function(named: String(name)) != nil else {
            throw SwiftletError(.notFound, "function '\(name)' not found")
        }
        try await scheduler.scale(String(name), to: body.replicas)
        context.logger.info("scale request", metadata: ["swiftlet.function": "\(name)", "swiftlet.replicas": "\(body.replicas)"])
        return Response(status: .accepted, headers: [.contentType: "text/plain; charset=utf-8"], body: .init(byteBuffer: ByteBuffer()))
    }

    @Sendable func pool(_ request: Request, context: SwiftletRequestContext) async throws -> Response {
        try JSONResponse.make(await warmPool?.status() ?? [])
    }
}
