import Foundation
import HTTPTypes
import NIOCore
import SwiftletCore
import SwiftletProviders
import SwiftletScheduler

/// Runs async calls through the scheduler, as sync calls run: a function at zero is started, a
/// busy one is waited for, and the call goes to the least-loaded ready instance.
public struct SchedulerInvoker: AsyncInvoker {
    let scheduler: Scheduler
    let maxResultBytes: Int

    /// Creates an invoker; answers larger than `maxResultBytes` fail the call.
    public init(scheduler: Scheduler, maxResultBytes: Int) {
        self.scheduler = scheduler
        self.maxResultBytes = maxResultBytes
    }

    /// Runs `call` and records it in the scheduler's call metrics (as OpenFaaS counts async
    /// calls in `gateway_function_invocation_total`), with the status a sync call would get;
    /// calls to a function that no longer exists are not counted, as for sync calls.
    public func invoke(_ call: AsyncCall) async -> AsyncAttempt {
        let started = ContinuousClock.now
        let attempt = await run(call)
        let code: Int
        switch attempt {
        case .answered(let result): code = result.status
        case .failed(_, let status, _, _): code = status
        }
        if case .failed(_, 404, _, _) = attempt { return attempt }
        scheduler.metrics.callStarted(call.function)
        scheduler.metrics.callFinished(call.function, code: code, duration: ContinuousClock.now - started)
        return attempt
    }

    private func run(_ call: AsyncCall) async -> AsyncAttempt {
        let started = ContinuousClock.now
        let lease: InstanceLease
        do {
            lease = try await scheduler.acquire(call.function)
        } catch let error as SwiftletError {
            switch error.code {
            case .notFound:
                return .failed(retryable: false, status: 404, message: "function '\(call.function)' no longer exists")
            case .tooManyRequests:
                return .failed(retryable: true, status: 429, message: error.message, retryAfter: .seconds(1))
            default:
                return .failed(retryable: true, status: 503, message: error.message)
            }
        } catch {
            return .failed(retryable: true, status: 503, message: "no instance of '\(call.function)' could take the call: \(error)")
        }

        var head = HTTPRequest(method: HTTPRequest.Method(call.request.method) ?? .post, scheme: nil, authority: "127.0.0.1:8080", path: call.request.path)
        for field in call.request.headers {
            guard let name = HTTPField.Name(field.name), !ProxyHeaders.hopByHop.contains(name) else { continue }
            head.headerFields.append(HTTPField(name: name, value: field.value))
        }
        head.headerFields[.xCallID] = call.id
        head.headerFields[.xStartTime] = String(Int64(call.createdAt.timeIntervalSince1970 * 1_000_000_000))
        head.headerFields[HTTPField.Name("X-Swiftlet-Attempt")!] = String(call.attempts)
        if !call.request.body.isEmpty || ["POST", "PUT", "PATCH"].contains(call.request.method) {
            head.headerFields[.contentLength] = String(call.request.body.count)
        }

        let response: ProxyResponse
        do {
            response = try await lease.instance.send(ProxyRequest(head: head, body: ByteBuffer(bytes: call.request.body)), timeout: lease.timeout)
        } catch ProxyError.timeout {
            lease.end()
            return .failed(retryable: true, status: 504, message: "function '\(call.function)' did not answer within \(lease.timeout) (its exec_timeout)")
        } catch {
            lease.end(failed: true)
            return .failed(retryable: true, status: 502, message: "function '\(call.function)' failed: its instance crashed or closed the connection")
        }
        let body: ByteBuffer
        do {
            body = try await response.body.collect(upTo: maxResultBytes)
            lease.end()
        } catch ProxyError.responseTooLarge {
            lease.end()
            return .failed(retryable: false, status: 502, message: "the function's answer is larger than the limit of \(maxResultBytes) bytes")
        } catch {
            lease.end(failed: !(error is CancellationError))
            return .failed(retryable: true, status: 502, message: "function '\(call.function)' closed the connection before its answer ended")
        }
        var headers: [HeaderField] = []
        for field in response.head.headerFields where !ProxyHeaders.hopByHop.contains(field.name) {
            headers.append(HeaderField(name: field.name.rawName, value: field.value))
        }
        let elapsed = ContinuousClock.now - started
        return .answered(
            AsyncResult(
                status: response.head.status.code, headers: headers, body: Data(body.readableBytesView),
                durationSeconds: elapsed.inSeconds
            )
        )
    }
}
