import Foundation
import PersonaKit
import SQLKit

/// One audit trail entry (`audit_events`).
public struct AuditEvent: Codable, Sendable, Equatable {
    public var id: String
    public var userId: String?
    public var personaId: String?
    public var runId: String?
    public var traceId: String?
    public var eventType: String
    public var eventCategory: String
    public var description: String
    public var metadata: [String: JSONValue]
    public var clientAddress: String?
    public var createdAt: Date

    package init(row: any SQLRow) throws {
        id = try row.decode(column: "id", as: String.self)
        userId = try row.decode(column: "user_id", as: String?.self)
        personaId = try row.decode(column: "persona_id", as: String?.self)
        runId = try row.decode(column: "run_id", as: String?.self)
        traceId = try row.decode(column: "trace_id", as: String?.self)
        eventType = try row.decode(column: "event_type", as: String.self)
        eventCategory = try row.decode(column: "event_category", as: String.self)
        description = try row.decode(column: "description", as: String.self)
        metadata = (try? JSONCoding.decode([String: JSONValue].self, from: try row.decode(column: "metadata", as: String.self))) ?? [:]
        clientAddress = try row.decode(column: "client_address", as: String?.self)
        createdAt = try row.decode(column: "created_at", as: Date.self)
    }

    public init(id: String = Identifier.make(), userId: String?, personaId: String? = nil, runId: String? = nil,
                traceId: String?, eventType: String, eventCategory: String, description: String,
                metadata: [String: JSONValue] = [:], clientAddress: String? = nil, createdAt: Date = Date()) {
        self.id = id
        self.userId = userId
        self.personaId = personaId
        self.runId = runId
        self.traceId = traceId
        self.eventType = eventType
        self.eventCategory = eventCategory
        self.description = description
        self.metadata = metadata
        self.clientAddress = clientAddress
        self.createdAt = createdAt
    }
}
