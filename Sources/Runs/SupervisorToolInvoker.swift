import Foundation
import PersonaKit
import Containers
import PersonaStorage

/// Runs a run's tool calls through the persona's supervisor (starting the container on
/// demand), recording each as a tool run of the run. The idempotency key (run, step, call)
/// means a resumed run gets the journaled result instead of a second side effect.
package struct SupervisorToolInvoker: ToolInvoker {
    package let database: Database
    package let containers: ContainerManager
    package let personas = PersonaRepository()

    package init(database: Database, containers: ContainerManager) {
        self.database = database
        self.containers = containers
    }

    package func invoke(personaId: String, runId: String, tool: String, arguments: JSONValue, idempotencyKey: String,
                trace: TraceContext) async throws -> ToolCallResult {
        guard let persona = try await database.withConnection({ try await personas.find(id: personaId, on: $0) }) else {
            return ToolCallResult(status: "error", output: ["error": "the persona no longer exists"], durationMs: 0)
        }
        do {
            let run = try await containers.invoke(persona, .init(tool: tool, arguments: arguments, timeoutMs: nil,
                                                                          idempotencyKey: idempotencyKey, runId: runId, userId: nil),
                                                           trace: trace)
            var output = run.output ?? .null
            if run.status != InvocationStatus.succeeded.rawValue, case .object(var members) = output {
                members["status"] = .string(run.status)
                if let code = run.errorCode { members["errorCode"] = .string(code) }
                if let tail = run.stderrTail, !tail.isEmpty { members["stderrTail"] = .string(tail) }
                output = .object(members)
            }
            return ToolCallResult(status: run.status == InvocationStatus.succeeded.rawValue ? "ok" : "error", output: output,
                                  durationMs: run.durationMs ?? 0)
        } catch let error as APIError {
            // The model reads this and can correct itself (bad arguments, unknown tool).
            return ToolCallResult(status: "error", output: ["error": .string(error.message), "code": .string(error.code)], durationMs: 0)
        }
    }
}
