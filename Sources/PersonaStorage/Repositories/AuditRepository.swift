import Foundation
import PersonaKit
import SQLKit

/// Filters for `GET /api/audit`.
package struct AuditFilter: Sendable {
    package var userId: String?
    package var personaId: String?
    package var eventType: String?
    package var traceId: String?
    package var from: Date?
    package var to: Date?

    package init(userId: String? = nil, personaId: String? = nil, eventType: String? = nil, traceId: String? = nil, from: Date? = nil, to: Date? = nil) {
        self.userId = userId
        self.personaId = personaId
        self.eventType = eventType
        self.traceId = traceId
        self.from = from
        self.to = to
    }
}

/// `audit_events` access: append and query.
package struct AuditRepository: Sendable {
    /// Appends `event`; one without a trace id (work outside a request) gets a new root trace's,
    /// so every row can be found by trace.
    package func insert(_ event: AuditEvent, on db: any SQLDatabase) async throws {
        try await db.insert(into: "audit_events")
            .columns("id", "user_id", "persona_id", "run_id", "trace_id", "event_type", "event_category",
                     "description", "metadata", "client_address", "created_at")
            .values(SQLBind(event.id), SQLBind(event.userId), SQLBind(event.personaId), SQLBind(event.runId),
                    SQLBind(event.traceId ?? TraceContext.newRoot().traceId), SQLBind(event.eventType), SQLBind(event.eventCategory),
                    SQLBind(event.description), SQLBind(try JSONCoding.encodeString(event.metadata)),
                    SQLBind(event.clientAddress), SQLBind(event.createdAt))
            .run()
    }

    /// Newest first, paged by id.
    package func list(filter: AuditFilter, cursor: String?, limit: Int, on db: any SQLDatabase) async throws -> [AuditEvent] {
        var query = db.select().column("*").from("audit_events")
        if let v = filter.userId { query = query.where("user_id", .equal, v) }
        if let v = filter.personaId { query = query.where("persona_id", .equal, v) }
        if let v = filter.eventType { query = query.where("event_type", .equal, v) }
        if let v = filter.traceId { query = query.where("trace_id", .equal, v) }
        if let v = filter.from { query = query.where("created_at", .greaterThanOrEqual, v) }
        if let v = filter.to { query = query.where("created_at", .lessThan, v) }
        if let cursor { query = query.where("id", .lessThan, cursor) }
        return try await query.orderBy("id", .descending).limit(limit).all().map(AuditEvent.init(row:))
    }

    package init() {

    }
}

