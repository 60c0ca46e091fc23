import Foundation
import PersonaKit
import SQLKit

/// Filters for `GET /api/audit`.
struct AuditFilter: Sendable {
    var userId: String?
    var personaId: String?
    var eventType: String?
    var traceId: String?
    var from: Date?
    var to: Date?
}

/// `audit_events` access: append and query.
struct AuditRepository: Sendable {
    func insert(_ event: AuditEvent, on db: any SQLDatabase) async throws {
        try await db.insert(into: "audit_events")
            .columns("id", "user_id", "persona_id", "run_id", "trace_id", "event_type", "event_category",
                     "description", "metadata", "client_address", "created_at")
            .values(SQLBind(event.id), SQLBind(event.userId), SQLBind(event.personaId), SQLBind(event.runId),
                    SQLBind(event.traceId), SQLBind(event.eventType), SQLBind(event.eventCategory),
                    SQLBind(event.description), SQLBind(try JSONCoding.encodeString(event.metadata)),
                    SQLBind(event.clientAddress), SQLBind(event.createdAt))
            .run()
    }

    /// Newest first, paged by id.
    func list(filter: AuditFilter, cursor: String?, limit: Int, on db: any SQLDatabase) async throws -> [AuditEvent] {
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
}

/// `settings` access: one row per key, JSON values.
struct SettingsRepository: Sendable {
    func all(on db: any SQLDatabase) async throws -> [String: JSONValue] {
        var out: [String: JSONValue] = [:]
        for row in try await db.select().columns("key", "value").from("settings").all() {
            let key = try row.decode(column: "key", as: String.self)
            out[key] = try? JSONCoding.decode(JSONValue.self, from: try row.decode(column: "value", as: String.self))
        }
        return out
    }

    func set(_ key: String, to value: JSONValue, by userId: String?, now: Date, on db: any SQLDatabase) async throws {
        let text = try JSONCoding.encodeString(value)
        let updated = try await db.update("settings").set("value", to: text).set("updated_at", to: now)
            .set("updated_by", to: userId).where("key", .equal, key).returning("key").first()
        if updated == nil {
            try await db.insert(into: "settings").columns("key", "value", "updated_at", "updated_by")
                .values(SQLBind(key), SQLBind(text), SQLBind(now), SQLBind(userId)).run()
        }
    }
}
