import DockerEngine
import Foundation
import PersonaKit
import PersonaStorage

extension ContainerManager {
    // MARK: Tools

    /// The supervisor of a running persona, or `nil`.
    package func supervisor(for record: PersonaContainerRecord) async throws -> SupervisorClient {
        let token = try secretBox.open(record.tokenSealed, personaId: record.personaId, name: Self.tokenSecretName)
        switch settings.controlChannel {
        case .unixSocket:
            return SupervisorClient(http: http, address: .unixSocket(runDirectory(record.personaId) + "/supervisor.sock"), token: token)
        case .tcp(_, let host, _, _, _):
            guard let id = record.containerId else { throw Self.notReady(record.personaId) }
            let inspect = try await docker.get().inspectContainer(id)
            guard let port = inspect.networkSettings?.ports?["\(Self.supervisorPort)/tcp"]??.first?.hostPort.flatMap(Int.init) else {
                throw Self.notReady(record.personaId)
            }
            return SupervisorClient(http: http, address: .tcp(host: host, port: port), token: token)
        }
    }

    package static func notReady(_ personaId: String) -> APIError {
        APIError(.conflict, code: "container_not_ready",
                 "The persona's container is not ready: POST /api/personas/\(personaId)/container/start and try again")
    }

    /// The record of a ready container, noting the persona's activity and waking it on demand:
    /// unpaused when the idle sweep paused it, else started (and waited for up to `timeout`).
    package func ensureReady(_ persona: Persona, timeout: Duration, trace: TraceContext) async throws -> PersonaContainerRecord {
        // Activity first, state second: an idle sweep's claim either fails on the fresh
        // activity or has already moved the state this read sees (ContainerRepository+Idle).
        await noteActivity(persona.id)
        if var record = try await find(persona.id), record.desiredState == .running, record.containerId != nil {
            if record.state == .paused, let resumed = try await resume(persona.id) { record = resumed }
            if record.state == .ready, record.containerId != nil { return record }
        }
        _ = try await start(persona, wait: timeout, trace: trace)
        guard let record = try await find(persona.id), record.state == .ready else {
            let current = try await find(persona.id)
            if current?.state == .failed {
                throw APIError(.conflict, code: "container_failed",
                               "The persona's container failed to start: \(current?.lastError ?? "see docker logs")")
            }
            throw Self.notReady(persona.id)
        }
        return record
    }

    package struct Invocation: Sendable {
        package var tool: String
        package var arguments: JSONValue
        package var timeoutMs: Int?
        package var idempotencyKey: String?
        package var runId: String?
        package var userId: String?

        package init(tool: String, arguments: JSONValue, timeoutMs: Int?, idempotencyKey: String?, runId: String? = nil,
                     userId: String? = nil) {
            self.tool = tool
            self.arguments = arguments
            self.timeoutMs = timeoutMs
            self.idempotencyKey = idempotencyKey
            self.runId = runId
            self.userId = userId
        }
    }

    /// Runs a tool of the persona through its supervisor and records the tool run. The same
    /// idempotency key returns the recorded run instead of running the tool again.
    package func invoke(_ persona: Persona, _ invocation: Invocation, trace: TraceContext) async throws -> ToolRun {
        let key = invocation.idempotencyKey ?? Identifier.make()
        if let existing = try await database.withConnection({ try await self.tools.run(personaId: persona.id, idempotencyKey: key, on: $0) }) {
            guard existing.tool == invocation.tool, existing.input == invocation.arguments else {
                throw APIError(.conflict, code: "idempotency_conflict", "This idempotencyKey was used for another tool call")
            }
            if existing.status != "running", existing.errorCode != "supervisor_unavailable" { return existing }
        }
        // In flight: the idle sweep leaves the persona awake until the call is over, which
        // counts as activity too (idleness starts from the end of the last call).
        activity.begin(persona.id)
        defer { activity.end(persona.id) }
        let record = try await ensureReady(persona, timeout: .seconds(60), trace: trace)
        guard let tool = try await database.withConnection({ try await self.tools.toolId(personaId: persona.id, name: invocation.tool, on: $0) }) else {
            throw APIError(.notFound, code: "unknown_tool", "The persona has no tool named '\(invocation.tool)'")
        }
        guard tool.enabled else {
            throw APIError(.conflict, code: "tool_disabled", "The tool '\(invocation.tool)' is turned off for this persona")
        }
        let run = try await database.withConnection { db in
            try await self.tools.beginRun(id: Identifier.make(), personaId: persona.id, tool: invocation.tool, toolId: tool.id,
                                          runId: invocation.runId, userId: invocation.userId, idempotencyKey: key,
                                          input: invocation.arguments, traceId: trace.traceId, now: Date(), on: db)
        }
        let result: InvocationResult
        do {
            let supervisor = try await supervisor(for: record)
            let request = InvocationRequest(arguments: invocation.arguments, idempotencyKey: key, timeoutMs: invocation.timeoutMs)
            // A cancelled caller (a cancelled run) cancels the tool too: its process group is
            // killed; the supervisor's `finished` event records the outcome on the tool run.
            let logger = self.logger
            result = try await withTaskCancellationHandler {
                try await supervisor.invoke(invocation.tool, request, trace: trace)
            } onCancel: {
                Task {
                    do {
                        try await supervisor.cancel(idempotencyKey: key, trace: trace)
                    } catch {
                        logger.warning("could not cancel a tool invocation", metadata: ["idempotency_key": "\(key)", "error": "\(error)"])
                    }
                }
            }
        } catch let error as APIError {
            await noteActivity(persona.id)
            try? await database.withConnection { db in
                try await self.tools.failRun(id: run.id, code: error.code, message: error.message, now: Date(), on: db)
            }
            throw error
        }
        await noteActivity(persona.id)
        return try await database.withConnection { db in
            try await self.tools.finishRun(personaId: persona.id, idempotencyKey: key, result: result, now: Date(), on: db)
            guard let finished = try await self.tools.find(id: run.id, on: db) else { throw APIError.notFound("Tool run") }
            return finished
        }
    }
}
