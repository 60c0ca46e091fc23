import AsyncHTTPClient
import Foundation
import NIOCore
import HTTPTypes
import NIOHTTP1
import PersonaKit


/// Calls one persona's supervisor: HTTP/1.1 over the socket in its run directory (or TCP for a
/// remote engine), authenticated with the container token, carrying the caller's trace.
package struct SupervisorClient: Sendable {
    package enum Address: Sendable {
        case unixSocket(String)
        case tcp(host: String, port: Int)
    }

    package let http: HTTPClient
    package let address: Address
    package let token: String

    private func url(_ path: String) -> String {
        switch address {
        case .unixSocket(let socket):
            URL(httpURLWithSocketPath: socket, uri: path)?.absoluteString ?? "http+unix://invalid\(path)"
        case .tcp(let host, let port):
            "http://\(host.contains(":") ? "[\(host)]" : host):\(port)\(path)"
        }
    }

    private func send(_ method: HTTPMethod, _ path: String, body: [UInt8]? = nil, trace: TraceContext,
                      timeout: TimeAmount) async throws -> (status: Int, body: ByteBuffer) {
        var request = HTTPClientRequest(url: url(path))
        request.method = method
        request.headers.add(name: "Host", value: "localhost")
        request.headers.add(name: "Authorization", value: "Bearer \(token)")
        request.headers.add(name: "traceparent", value: trace.traceparent)
        if let body {
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(bytes: body))
        }
        let response: HTTPClientResponse
        do {
            response = try await http.execute(request, timeout: timeout)
        } catch is CancellationError {
            throw CancellationError()
        } catch {
            throw APIError(.serviceUnavailable, code: "supervisor_unavailable",
                           "The persona's supervisor did not answer (\(Self.describe(error))); the container may be restarting")
        }
        let bytes = try await response.body.collect(upTo: 32 << 20)
        return (Int(response.status.code), bytes)
    }

    private static func describe(_ error: any Error) -> String {
        if let error = error as? HTTPClientError {
            return error == .deadlineExceeded || error == .readTimeout ? "timed out" : "\(error)"
        }
        return "\(type(of: error))"
    }

    /// Runs a tool. Supervisor errors come back as the same `{error, code}` with its status.
    package func invoke(_ tool: String, _ request: InvocationRequest, trace: TraceContext) async throws -> InvocationResult {
        let body = Array(try SupervisorJSON.encoder.encode(request))
        // The supervisor enforces the tool's timeout; the HTTP call waits a little longer.
        let waitMs = (request.timeoutMs ?? 3_600_000) + 15_000
        let escaped = tool.addingPercentEncoding(withAllowedCharacters: .alphanumerics.union(CharacterSet(charactersIn: "_-"))) ?? tool
        let (status, buffer) = try await send(.POST, "/v1/tools/\(escaped)/invocations", body: body, trace: trace,
                                              timeout: .milliseconds(Int64(waitMs)))
        guard status == 200 else { throw Self.error(status: status, buffer: buffer) }
        do {
            return try SupervisorJSON.decoder.decode(InvocationResult.self, from: Data(buffer: buffer))
        } catch {
            throw APIError(.badGateway, code: "supervisor_error", "The supervisor answered with an unreadable result")
        }
    }

    /// Cancels the invocation running under `idempotencyKey` (kills its process group); one
    /// that has not arrived yet is cancelled when it does.
    package func cancel(idempotencyKey: String, trace: TraceContext) async throws {
        let body = Array(try JSONEncoder().encode(["idempotencyKey": idempotencyKey]))
        let (status, buffer) = try await send(.POST, "/v1/invocations/cancel", body: body, trace: trace, timeout: .seconds(5))
        guard status == 202 else { throw Self.error(status: status, buffer: buffer) }
    }

    package func health(trace: TraceContext) async throws -> SupervisorHealth {
        let (status, buffer) = try await send(.GET, "/health", trace: trace, timeout: .seconds(5))
        guard status == 200 else { throw Self.error(status: status, buffer: buffer) }
        return try SupervisorJSON.decoder.decode(SupervisorHealth.self, from: Data(buffer: buffer))
    }

    /// Starts a sidecar (and what it depends on) and waits until it is ready.
    package func startSidecar(_ name: String, trace: TraceContext) async throws {
        let (status, buffer) = try await send(.POST, "/v1/sidecars/\(name)/start", trace: trace, timeout: .seconds(60))
        guard status == 200 else { throw Self.error(status: status, buffer: buffer) }
    }

    /// The bytes of a workspace file (at most 32 MiB).
    package func readFile(_ path: String, trace: TraceContext) async throws -> ByteBuffer {
        var components = URLComponents()
        components.path = "/v1/files"
        components.queryItems = [URLQueryItem(name: "path", value: path)]
        let (status, buffer) = try await send(.GET, components.string ?? "/v1/files", trace: trace, timeout: .seconds(30))
        guard status == 200 else { throw Self.error(status: status, buffer: buffer) }
        return buffer
    }

    /// Has the supervisor read its tool directories again (custom tools came or went) and
    /// returns the manifests it offers now.
    package func reloadTools(trace: TraceContext) async throws -> [ToolManifest] {
        struct Answer: Decodable { var tools: [ToolManifest] }
        let (status, buffer) = try await send(.POST, "/v1/tools/reload", trace: trace, timeout: .seconds(10))
        guard status == 200 else { throw Self.error(status: status, buffer: buffer) }
        return try SupervisorJSON.decoder.decode(Answer.self, from: Data(buffer: buffer)).tools
    }

    package func info(trace: TraceContext) async throws -> SupervisorInfo {
        let (status, buffer) = try await send(.GET, "/v1/info", trace: trace, timeout: .seconds(5))
        guard status == 200 else { throw Self.error(status: status, buffer: buffer) }
        return try SupervisorJSON.decoder.decode(SupervisorInfo.self, from: Data(buffer: buffer))
    }

    /// The supervisor's error as an API error: client mistakes keep their status and code,
    /// anything else is a 502.
    package static func error(status: Int, buffer: ByteBuffer) -> APIError {
        // The supervisor answers the one error shape, PersonaKit's `{error, code, traceId}`.
        let body = try? JSONDecoder().decode(ErrorPayload.self, from: Data(buffer: buffer))
        let message = body?.error ?? "The supervisor answered HTTP \(status)"
        let code = body?.code ?? "supervisor_error"
        switch status {
        case 400, 404, 409, 413, 422:
            return APIError(HTTPResponse.Status(code: status), code: code, message)
        case 401, 403:
            return APIError(.badGateway, code: "supervisor_auth_failed",
                            "The supervisor refused the container token; restart the persona's container")
        case 503:
            return APIError(.serviceUnavailable, code: code, message)
        default:
            return APIError(.badGateway, code: "supervisor_error", message)
        }
    }
}
