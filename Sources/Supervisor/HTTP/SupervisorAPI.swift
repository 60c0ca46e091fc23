#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Logging
import NIOHTTP1
import PersonaKit

/// The supervisor's HTTP API (see docs/supervisor.md). Every request needs
/// `Authorization: Bearer <container token>`; W3C `traceparent` is accepted, a child span is
/// made per request and returned as `traceparent` and `X-Trace-Id`.
public struct SupervisorAPI: Sendable {
    let token: String
    let runner: ToolRunner
    let workspace: Workspace
    let logger: Logger
    let info: @Sendable () async -> SupervisorInfo
    let health: @Sendable () async -> SupervisorHealth
    let memory: MemoryService?
    let sidecars: SidecarManager?

    /// - Parameters:
    ///   - memory: answers `GET /v1/memory` and `POST /v1/memory/sync` (404 without it).
    ///   - sidecars: answers `GET /v1/sidecars` and `POST /v1/sidecars/{name}/start|stop`.
    public init(token: String, runner: ToolRunner, workspace: Workspace, logger: Logger,
                info: @escaping @Sendable () async -> SupervisorInfo, health: @escaping @Sendable () async -> SupervisorHealth,
                memory: MemoryService? = nil, sidecars: SidecarManager? = nil) {
        self.token = token
        self.runner = runner
        self.workspace = workspace
        self.logger = logger
        self.info = info
        self.health = health
        self.memory = memory
        self.sidecars = sidecars
    }

    /// Answers one request.
    public func handle(_ request: APIRequest) async -> APIResponse {
        let incoming = request.headers.first(name: "traceparent").flatMap {
            TraceContext(traceparent: $0, traceState: request.headers.first(name: "tracestate"))
        }
        let trace = incoming?.child() ?? TraceContext.newRoot()
        let started = monotonicNanos()
        var response: APIResponse
        do {
            try authorize(request)
            response = try await route(request, trace: trace)
        } catch {
            if error.status >= 500 {
                logger.error("request failed", metadata: ["trace_id": "\(trace.traceId)", "error": "\(String(reflecting: error))"])
            }
            response = APIErrors.response(error, traceId: trace.traceId)
        }
        response.headers.append(("traceparent", trace.traceparent))
        response.headers.append(("X-Trace-Id", trace.traceId))
        logger.info("request", metadata: [
            "trace_id": "\(trace.traceId)", "span_id": "\(trace.spanId)", "method": "\(request.method.rawValue)",
            "path": "\(request.path)", "status": "\(response.status.code)",
            "durationMs": "\((monotonicNanos() - started) / 1_000_000)",
        ])
        return response
    }

    private func authorize(_ request: APIRequest) throws(SupervisorError) {
        guard let header = request.headers.first(name: "authorization"), header.hasPrefix("Bearer "),
              constantTimeEqual(Array(header.utf8.dropFirst(7)), Array(token.utf8)), !token.isEmpty
        else { throw SupervisorError("unauthorized", "a valid bearer token is required", status: 401) }
    }

    private func route(_ request: APIRequest, trace: TraceContext) async throws(SupervisorError) -> APIResponse {
        let parts = request.path.split(separator: "/").map(String.init)
        let method = request.method
        if method == .GET && parts == ["health"] {
            return try json(await health())
        }
        if method == .GET && parts == ["v1", "info"] {
            return try json(await info())
        }
        if method == .GET && parts == ["v1", "tools"] {
            return try json(["tools": await runner.catalog.manifests])
        }
        if method == .POST && parts == ["v1", "tools", "reload"] {
            return try json(["tools": await runner.reloadCatalog().manifests])
        }
        if method == .POST && parts.count == 4 && parts[0] == "v1" && parts[1] == "tools" && parts[3] == "invocations" {
            let body: InvocationRequest
            do {
                body = try JSONDecoder().decode(InvocationRequest.self, from: Data(request.body.isEmpty ? Array("{}".utf8) : request.body))
            } catch {
                throw SupervisorError("validation_failed", "body must be {arguments, idempotencyKey?, timeoutMs?}", status: 400)
            }
            if let timeout = body.timeoutMs, timeout <= 0 {
                throw SupervisorError("validation_failed", "timeoutMs must be positive", status: 400)
            }
            return try json(try await runner.invoke(tool: parts[2], request: body, trace: trace))
        }
        if method == .POST && parts == ["v1", "invocations", "cancel"] {
            struct Body: Decodable { var idempotencyKey: String }
            guard let body = try? JSONDecoder().decode(Body.self, from: Data(request.body)), !body.idempotencyKey.isEmpty else {
                throw SupervisorError("validation_failed", "body must be {idempotencyKey}", status: 400)
            }
            let running = await runner.cancel(idempotencyKey: body.idempotencyKey)
            return APIResponse(status: .accepted, headers: [("Content-Type", "application/json")],
                               body: Array((running ? #"{"cancelled":true}"# : #"{"cancelled":false,"pending":true}"#).utf8))
        }
        if method == .POST && parts.count == 4 && parts[0] == "v1" && parts[1] == "invocations" && parts[3] == "cancel" {
            guard await runner.cancel(id: parts[2]) else { throw SupervisorError.notFound("no running invocation \(parts[2])") }
            return APIResponse(status: .accepted, headers: [("Content-Type", "application/json")], body: Array(#"{"cancelled":true}"#.utf8))
        }
        if parts.first == "v1" && parts.dropFirst().first == "memory", let memory {
            if method == .GET && parts == ["v1", "memory"] {
                return try json(memory.status())
            }
            if method == .POST && parts == ["v1", "memory", "sync"] {
                let synced = await memory.sync(timeout: .seconds(30))
                return try json(MemorySyncAnswer(synced: synced, status: memory.status()))
            }
        }
        if let sidecars, parts.first == "v1", parts.dropFirst().first == "sidecars" {
            if method == .GET && parts == ["v1", "sidecars"] {
                return try json(["sidecars": await sidecars.health()])
            }
            if method == .POST && parts.count == 4, ["start", "stop"].contains(parts[3]) {
                guard sidecars.names.contains(parts[2]) else {
                    throw SupervisorError("sidecar_unavailable", "this image has no \(parts[2]) sidecar", status: 404)
                }
                if parts[3] == "start" { try await sidecars.ensureReady([parts[2]]) } else { await sidecars.stop(parts[2]) }
                return try json(["sidecars": await sidecars.health()])
            }
        }
        if parts == ["v1", "files"] && method == .GET {
            let bytes = try workspace.readFile(try pathParameter(request))
            return APIResponse(status: .ok, headers: [("Content-Type", "application/octet-stream")], body: bytes)
        }
        if parts == ["v1", "files"] && method == .PUT {
            let path = try pathParameter(request)
            try workspace.writeFile(path, request.body)
            return try json(["path": path, "size": String(request.body.count)], status: .created)
        }
        if parts == ["v1", "files", "list"] && method == .GET {
            let path = request.query["path"].flatMap { $0.isEmpty ? nil : $0 } ?? "."
            let entries = try workspace.list(path, recursive: request.query["recursive"] == "true")
            return try json(["entries": entries])
        }
        var known = [["health"], ["v1", "info"], ["v1", "tools"], ["v1", "tools", "reload"], ["v1", "files"], ["v1", "files", "list"]]
        if memory != nil { known += [["v1", "memory"], ["v1", "memory", "sync"]] }
        if known.contains(parts) || (parts.count == 4 && parts[0] == "v1" && ["tools", "invocations"].contains(parts[1])) {
            throw SupervisorError("method_not_allowed", "\(method.rawValue) \(request.path) is not supported", status: 405)
        }
        throw SupervisorError.notFound("no route \(request.path)")
    }

    private func pathParameter(_ request: APIRequest) throws(SupervisorError) -> String {
        guard let path = request.query["path"], !path.isEmpty else { throw SupervisorError.badRequest("the path query parameter is required") }
        return path
    }

    private func json<T: Encodable>(_ value: T, status: HTTPResponseStatus = .ok) throws(SupervisorError) -> APIResponse {
        do {
            return APIResponse(status: status, headers: [("Content-Type", "application/json")], body: Array(try SupervisorJSON.encoder.encode(value)))
        } catch {
            throw SupervisorError("encoding_failed", "the response could not be encoded", underlying: error)
        }
    }
}

/// The answer of `POST /v1/memory/sync`.
struct MemorySyncAnswer: Encodable {
    /// Whether the cache caught up with the control plane.
    var synced: Bool
    var status: MemoryCacheStatus
}

/// Compares without leaking where the first difference is.
func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
    var difference = UInt8(truncatingIfNeeded: a.count ^ b.count)
    for index in 0..<max(a.count, b.count) {
        difference |= (index < a.count ? a[index] : 0) ^ (index < b.count ? b[index] : 0)
    }
    return difference == 0
}
