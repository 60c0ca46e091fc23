import Foundation
import PersonaKit
import SQLKit

/// One tool of a persona's catalog (`GET /api/personas/{id}/tools`): what its supervisor
/// reported at its last registration, with the per-persona switch.
package struct PersonaToolDTO: Codable, Sendable {
    package var id: String
    package var name: String
    package var version: String
    package var description: String
    package var category: String
    package var enabled: Bool
    package var builtin: Bool
    package var requiresApproval: Bool
    package var timeoutMs: Int
    package var needs: [String]
    package var dependsOn: [String]
    package var inputSchema: JSONValue
    package var outputSchema: JSONValue?
    package var updatedAt: Date

    package init(id: String, name: String, version: String, description: String, category: String, enabled: Bool, builtin: Bool, requiresApproval: Bool, timeoutMs: Int, needs: [String], dependsOn: [String], inputSchema: JSONValue, outputSchema: JSONValue? = nil, updatedAt: Date) {
        self.id = id
        self.name = name
        self.version = version
        self.description = description
        self.category = category
        self.enabled = enabled
        self.builtin = builtin
        self.requiresApproval = requiresApproval
        self.timeoutMs = timeoutMs
        self.needs = needs
        self.dependsOn = dependsOn
        self.inputSchema = inputSchema
        self.outputSchema = outputSchema
        self.updatedAt = updatedAt
    }
}

/// A tool run (`tool_runs`): one invocation through the supervisor, from the API or a run.
package struct ToolRun: Codable, Sendable {
    package var id: String
    package var personaId: String
    package var tool: String
    package var runId: String?
    package var userId: String?
    package var idempotencyKey: String
    package var invocationId: String?
    /// `running`, then an ``InvocationStatus``.
    package var status: String
    package var input: JSONValue
    package var output: JSONValue?
    package var errorCode: String?
    package var exitCode: Int?
    package var durationMs: Int?
    package var stderrTail: String?
    package var artifacts: [InvocationArtifact]
    package var traceId: String
    package var createdAt: Date
    package var finishedAt: Date?

    package init(row: any SQLRow) throws {
        id = try row.decode(column: "id", as: String.self)
        personaId = try row.decode(column: "persona_id", as: String.self)
        tool = try row.decode(column: "tool_name", as: String.self)
        runId = try row.decode(column: "run_id", as: String?.self)
        userId = try row.decode(column: "user_id", as: String?.self)
        idempotencyKey = try row.decode(column: "idempotency_key", as: String.self)
        invocationId = try row.decode(column: "invocation_id", as: String?.self)
        status = try row.decode(column: "status", as: String.self)
        input = (try? JSONCoding.decode(JSONValue.self, from: try row.decode(column: "input", as: String.self))) ?? .null
        output = try row.decode(column: "output", as: String?.self).flatMap { try? JSONCoding.decode(JSONValue.self, from: $0) }
        errorCode = try row.decode(column: "error_code", as: String?.self)
        exitCode = try row.decode(column: "exit_code", as: Int?.self)
        durationMs = try row.decode(column: "duration_ms", as: Int?.self)
        stderrTail = try row.decode(column: "stderr_tail", as: String?.self)
        artifacts = try row.decode(column: "artifacts", as: String?.self)
            .flatMap { try? JSONCoding.decode([InvocationArtifact].self, from: $0) } ?? []
        traceId = try row.decode(column: "trace_id", as: String.self)
        createdAt = try row.decode(column: "created_at", as: Date.self)
        finishedAt = try row.decode(column: "finished_at", as: Date?.self)
    }
}

