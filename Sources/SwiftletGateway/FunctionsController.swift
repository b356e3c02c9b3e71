import Crypto
import Foundation
import Hummingbird
import Logging
import NIOCore
import SwiftletCore
import SwiftletProviders
import SwiftletScheduler
import SwiftletStore

/// The OpenFaaS function API under `/system`: list, get, deploy (POST), update (PUT), delete.
struct FunctionsController: Sendable {
    let store: any FunctionStore
    let scheduler: Scheduler
    let provider: any Provider
    let validator: DeploymentValidator

    func addRoutes(to router: Router<SwiftletRequestContext>) {
        router.get("/system/functions", use: list)
        router.post("/system/functions", use: create)
        router.put("/system/functions", use: update)
        router.delete("/system/functions", use: delete)
        router.get("/system/function/{name}", use: get)
    }

    @Sendable func list(_ request: Request, context: SwiftletRequestContext) async throws -> Response {
        _ = try FunctionName.resolveNamespace(request.uri.queryParameters.get("namespace"))
        var statuses: [FunctionStatus] = []
        for spec in try await store.allFunctions() {
            statuses.append(await status(of: spec))
        }
        return try JSONResponse.make(statuses)
    }

    @Sendable func get(_ request: Request, context: SwiftletRequestContext) async throws -> Response {
        let qualified = try context.parameters.require("name")
        let (name, namespace) = FunctionName.split(Substring(qualified))
        _ = try FunctionName.resolveNamespace(request.uri.queryParameters.get("namespace") ?? namespace.map(String.init))
        guard let spec = try await store.function(named: String(name)) else {
            throw SwiftletError(.notFound, "function '\(name.prefix(63))' not found")
        }
        return try JSONResponse.make(await status(of: spec))
    }

    @Sendable func create(_ request: Request, context: SwiftletRequestContext) async throws -> Response {
        let (spec, code) = try await validated(request, context: context)
        try await store.insertFunction(spec, code: code)
        await scheduler.deploy(spec)
        context.logger.info("deployed function", metadata: ["swiftlet.function": "\(spec.name)", "swiftlet.runtime": "\(spec.runtime?.rawValue ?? "image")"])
        return Response(status: .accepted, headers: [.contentType: "text/plain; charset=utf-8"], body: .init(byteBuffer: ByteBuffer(string: "")))
    }

    @Sendable func update(_ request: Request, context: SwiftletRequestContext) async throws -> Response {
        let (spec, code) = try await validated(request, context: context)
        let stored = try await store.updateFunction(spec, code: code)
        await scheduler.update(stored)
        context.logger.info("updated function", metadata: ["swiftlet.function": "\(spec.name)"])
        return Response(status: .ok)
    }

    @Sendable func delete(_ request: Request, context: SwiftletRequestContext) async throws -> Response {
        let body = try await JSONBody.decode(DeleteFunctionRequest.self, from: request, context: context)
        try FunctionName.validate(body.functionName)
        _ = try FunctionName.resolveNamespace(body.namespace)
        guard let removed = try await store.deleteFunction(named: body.functionName) else {
            throw SwiftletError(.notFound, "function '\(body.functionName)' not found")
        }
        await scheduler.remove(body.functionName)
        await provider.functionRemoved(removed)
        context.logger.info("removed function", metadata: ["swiftlet.function": "\(body.functionName)"])
        return Response(status: .ok)
    }

    private func validated(_ request: Request, context: SwiftletRequestContext) async throws -> (FunctionSpec, Data) {
        let deployment = try await JSONBody.decode(FunctionDeployment.self, from: request, context: context)
        var checked = try validator.validate(deployment)
        try await requireSecrets(checked.spec.secrets)
        checked.spec.codeDigest = SHA256.hash(data: checked.code).map { String(format: "%02x", $0) }.joined()
        let spec = try provider.validate(checked.spec, code: checked.code)
        try await provider.prepare(spec, code: checked.code, registryAuth: checked.registryAuth)
        return (spec, checked.code)
    }

    /// Refuses (400) a deployment naming secrets that do not exist, before anything is prepared
    /// or stored. The store checks again atomically when it stores the function.
    private func requireSecrets(_ names: [String]) async throws {
        guard !names.isEmpty else { return }
        let stored = Set(try await store.secretNames().map(\.name))
        let missing = names.filter { !stored.contains($0) }
        guard missing.isEmpty else {
            throw SwiftletError.missingSecrets(missing, code: .invalidInput)
        }
    }

    private func status(of spec: FunctionSpec) async -> FunctionStatus {
        let (replicas, available, invocations) = await scheduler.status(spec.name)
        var status = spec.status(invocationCount: Double(invocations), replicas: replicas, availableReplicas: available)
        if spec.isDebug {
            for (debugger, endpoint) in await scheduler.debugEndpoints(spec.name) {
                status.annotations = status.annotations ?? [:]
                status.annotations?[DebugMode.annotationPrefix + debugger] = endpoint
            }
        }
        return status
    }
}
