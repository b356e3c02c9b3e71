import Foundation
import Hummingbird
import NIOCore
import SwiftletCore
import SwiftletScheduler
import SwiftletStore

/// The OpenFaaS secrets API under `/system/secrets`: list, create (POST), update (PUT), delete.
///
/// Values are never answered, logged nor put in error messages. Updating a value rolls every
/// function that uses the secret, so new instances read the new value; deleting a secret that
/// functions use answers 409 naming them.
struct SecretsController: Sendable {
    let store: any FunctionStore
    let scheduler: Scheduler

    func addRoutes(to router: Router<SwiftletRequestContext>) {
        router.get("/system/secrets", use: list)
        router.post("/system/secrets", use: create)
        router.put("/system/secrets", use: update)
        router.delete("/system/secrets", use: delete)
    }

    /// `GET /system/secrets?namespace=`: `[{"name","namespace"}]`.
    @Sendable func list(_ request: Request, context: SwiftletRequestContext) async throws -> Response {
        _ = try FunctionName.resolveNamespace(request.uri.queryParameters.get("namespace"))
        return try JSONResponse.make(try await store.secretNames())
    }

    /// `POST /system/secrets`: 201, or 409 when the name is taken.
    @Sendable func create(_ request: Request, context: SwiftletRequestContext) async throws -> Response {
        let secret = try await decode(request, context: context)
        try await store.insertSecret(name: secret.name, namespace: secret.namespace, value: secret.value)
        context.logger.info("created secret", metadata: ["swiftlet.secret": "\(secret.name)"])
        return Response(status: .created)
    }

    /// `PUT /system/secrets`: 200, or 404 when absent; then rolls the functions that use it.
    @Sendable func update(_ request: Request, context: SwiftletRequestContext) async throws -> Response {
        let secret = try await decode(request, context: context)
        try await store.updateSecret(name: secret.name, namespace: secret.namespace, value: secret.value)
        let users = try await store.allFunctions().filter { $0.secrets.contains(secret.name) }
        context.logger.info(
            "updated secret", metadata: ["swiftlet.secret": "\(secret.name)", "swiftlet.functions": "\(users.map(\.name))"]
        )
        for spec in users {
            await scheduler.restart(spec)
        }
        return Response(status: .ok)
    }

    /// `DELETE /system/secrets` with `{"name"}`: 200 (never 204: faas-cli treats it as an
    /// error), 404 when absent, 409 naming the functions that use it.
    @Sendable func delete(_ request: Request, context: SwiftletRequestContext) async throws -> Response {
        let body = try await JSONBody.decode(DeleteSecretRequest.self, from: request, context: context)
        try Secret.validateName(body.name)
        _ = try FunctionName.resolveNamespace(body.namespace)
        guard try await store.deleteSecret(named: body.name) else {
            throw SwiftletError(.notFound, "secret '\(body.name)' not found")
        }
        context.logger.info("removed secret", metadata: ["swiftlet.secret": "\(body.name)"])
        return Response(status: .ok)
    }

    /// Decodes and checks a `Secret` body; a body over the request limit gets the secret's
    /// size limit in its message.
    private func decode(_ request: Request, context: SwiftletRequestContext) async throws -> Secret.Validated {
        let secret: Secret
        do {
            secret = try await JSONBody.decode(Secret.self, from: request, context: context)
        } catch let error as SwiftletError where error.code == .tooLarge {
            throw SwiftletError(.tooLarge, "the request is larger than \(context.maxUploadSize) bytes; a secret value may be at most \(Secret.maxValueBytes) bytes (1 MiB)")
        }
        return try secret.validated()
    }
}
