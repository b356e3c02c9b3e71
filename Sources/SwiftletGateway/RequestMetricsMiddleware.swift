import CoreMetrics
import Dispatch
import Hummingbird

/// Records the duration of every gateway request in `swiftlet_http_request_duration_seconds`
/// by method, route and status code. Routes are the router's patterns (`/system/function/{name}`);
/// function calls are `/function/{name}` and `/async-function/{name}`, so labels stay bounded.
///
/// Hummingbird's own `MetricsMiddleware` emits through the global `MetricsSystem`; this one takes
/// a factory, so several gateways in one process (tests) keep their metrics apart.
struct RequestMetricsMiddleware<Context: RequestContext>: RouterMiddleware {
    let factory: any MetricsFactory

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let start = DispatchTime.now().uptimeNanoseconds
        do {
            var response = try await next(request, context)
            let status = response.status.code
            let body = response.body
            let route = context.endpointPath
            response.body = ResponseBody(contentLength: body.contentLength) { writer in
                defer { record(request, route: route, status: status, start: start) }
                try await body.write(writer)
            }
            return response
        } catch {
            let status = (error as? any HTTPResponseError)?.status.code ?? 500
            record(request, route: context.endpointPath, status: status, start: start)
            throw error
        }
    }

    private func record(_ request: Request, route: String?, status: Int, start: UInt64) {
        let path = request.uri.path
        let label: String
        if path.hasPrefix("/function/") {
            label = "/function/{name}"
        } else if path.hasPrefix("/async-function/") {
            label = "/async-function/{name}"
        } else {
            label = route ?? "unmatched"
        }
        Timer(
            label: MetricsEndpoint.Name.requestSeconds,
            dimensions: [("method", request.method.rawValue), ("route", label), ("code", String(status))], factory: factory
        ).recordNanoseconds(Int64(DispatchTime.now().uptimeNanoseconds - start))
    }
}
