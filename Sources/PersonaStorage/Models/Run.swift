import Foundation
import PersonaKit
import SQLKit

/// A run's lifecycle.
public enum RunStatus: String, Codable, Sendable, CaseIterable {
    case queued, running, awaitingApproval = "awaiting_approval", completed, failed, cancelled

    public var isFinal: Bool { self == .completed || self == .failed || self == .cancelled }
}

/// A run row (`runs`), also a queue entry.
public struct Run: Codable, Sendable, Equatable {
    public var id: String
    public var personaId: String
    public var agentId: String?
    public var createdBy: String?
    public var status: RunStatus
    public var input: String
    public var output: String?
    public var error: String?
    public var traceId: String
    public var spanId: String
    public var stepCount: Int
    public var nextNode: String?
    public var cancelRequested: Bool
    public var promptTokens: Int
    public var completionTokens: Int
    public var createdAt: Date
    public var updatedAt: Date
    public var startedAt: Date?
    public var completedAt: Date?

    package init(row: any SQLRow) throws {
        id = try row.decode(column: "id", as: String.self)
        personaId = try row.decode(column: "persona_id", as: String.self)
        agentId = try row.decode(column: "agent_id", as: String?.self)
        createdBy = try row.decode(column: "created_by", as: String?.self)
        status = RunStatus(rawValue: try row.decode(column: "status", as: String.self)) ?? .failed
        input = try row.decode(column: "input", as: String.self)
        output = try row.decode(column: "output", as: String?.self)
        error = try row.decode(column: "error", as: String?.self)
        traceId = try row.decode(column: "trace_id", as: String.self)
        spanId = try row.decode(column: "span_id", as: String.self)
        stepCount = try row.decode(column: "step_count", as: Int.self)
        nextNode = try row.decode(column: "next_node", as: String?.self)
        cancelRequested = try row.decode(column: "cancel_requested", as: Bool.self)
        promptTokens = try row.decode(column: "prompt_tokens", as: Int.self)
        completionTokens = try row.decode(column: "completion_tokens", as: Int.self)
        createdAt = try row.decode(column: "created_at", as: Date.self)
        updatedAt = try row.decode(column: "updated_at", as: Date.self)
        startedAt = try row.decode(column: "started_at", as: Date?.self)
        completedAt = try row.decode(column: "completed_at", as: Date?.self)
    }

    package init(id: String, personaId: String, agentId: String?, createdBy: String?, input: String, trace: TraceContext, now: Date) {
        self.id = id
        self.personaId = personaId
        self.agentId = agentId
        self.createdBy = createdBy
        self.status = .queued
        self.input = input
        self.traceId = trace.traceId
        self.spanId = trace.spanId
        self.stepCount = 0
        self.cancelRequested = false
        self.promptTokens = 0
        self.completionTokens = 0
        self.createdAt = now
        self.updatedAt = now
    }
}

/// One timeline entry of a run (a checkpointed step).
public struct RunStep: Codable, Sendable, Equatable {
    public var step: Int
    public var node: String
    public var spanId: String
    public var detail: JSONValue
    public var createdAt: Date

    package init(step: Int, node: String, spanId: String, detail: JSONValue, createdAt: Date) {
        self.step = step
        self.node = node
        self.spanId = spanId
        self.detail = detail
        self.createdAt = createdAt
    }
}
