import Foundation
import PersonaKit
import SQLKit

/// One row of an event log (`run_events` or `persona_events`), as the live streams send it.
package struct StoredEvent: Sendable, Equatable {
    /// The event id: `seq` of its table, increasing (commit order may differ on PostgreSQL).
    package var seq: Int
    /// The run or persona the event belongs to.
    package var owner: String
    package var type: String
    /// The event's JSON object, as stored.
    package var data: String
    package var createdAt: Date
}

/// `persona_events` access: append (in the writer's transaction), read after a cursor, prune.
/// The same reads over `run_events` serve the live hub, so one cursor logic covers both.
package struct PersonaEventRepository: Sendable {
    package init() {}

    /// Appends an event for a persona (`alert.opened`, `health`, `sidecars`, `tool.started`, ...).
    package func append(personaId: String, type: String, data: JSONValue, now: Date, on db: any SQLDatabase) async throws {
        try await db.insert(into: "persona_events").columns("persona_id", "type", "data", "created_at")
            .values(SQLBind(personaId), SQLBind(type), SQLBind(try JSONCoding.encodeString(data)), SQLBind(now)).run()
    }

    /// Appends several events in one statement; `data` is each event's JSON object, encoded.
    package func append(_ rows: [(personaId: String, type: String, data: String)], now: Date, on db: any SQLDatabase) async throws {
        guard !rows.isEmpty else { return }
        var insert = db.insert(into: "persona_events").columns("persona_id", "type", "data", "created_at")
        for row in rows { insert = insert.values(SQLBind(row.personaId), SQLBind(row.type), SQLBind(row.data), SQLBind(now)) }
        try await insert.run()
    }

    /// The persona's events after `seq`, oldest first.
    package func events(personaId: String, after seq: Int, limit: Int, on db: any SQLDatabase) async throws -> [StoredEvent] {
        try await db.select().columns("seq", "persona_id", "type", "data", "created_at").from("persona_events")
            .where("persona_id", .equal, personaId).where("seq", .greaterThan, seq).orderBy("seq").limit(limit).all()
            .map { try Self.event($0, owner: "persona_id") }
    }

    /// The run's events after `seq`, oldest first (the same rows the SSE stream sends).
    package func events(runId: String, after seq: Int, limit: Int, on db: any SQLDatabase) async throws -> [StoredEvent] {
        try await db.select().columns("seq", "run_id", "type", "data", "created_at").from("run_events")
            .where("run_id", .equal, runId).where("seq", .greaterThan, seq).orderBy("seq").limit(limit).all()
            .map { try Self.event($0, owner: "run_id") }
    }

    /// Events of every persona whose type starts with `prefix` after `seq` (the `alerts` topic's replay).
    package func events(typePrefix prefix: String, after seq: Int, limit: Int, on db: any SQLDatabase) async throws -> [StoredEvent] {
        try await db.select().columns("seq", "persona_id", "type", "data", "created_at").from("persona_events")
            .where("seq", .greaterThan, seq).where("type", .like, prefix + "%").orderBy("seq").limit(limit).all()
            .map { try Self.event($0, owner: "persona_id") }
    }

    /// Every new row of `table` (`persona_events` or `run_events`) after `seq`: the hub's poll.
    package func tail(_ table: EventTable, after seq: Int, limit: Int, on db: any SQLDatabase) async throws -> [StoredEvent] {
        try await db.select().column("seq").column(SQLIdentifier(table.owner), as: "owner").columns("type", "data", "created_at")
            .from(table.rawValue).where("seq", .greaterThan, seq).orderBy("seq").limit(limit).all()
            .map { try Self.event($0, owner: "owner") }
    }

    /// The highest `seq` of `table`, 0 when empty.
    package func head(_ table: EventTable, on db: any SQLDatabase) async throws -> Int {
        try await db.select().column(SQLFunction("max", args: SQLIdentifier("seq")), as: "seq").from(table.rawValue).first()?
            .decode(column: "seq", as: Int?.self) ?? 0
    }

    /// Drops persona events older than `before`; returns how many.
    package func delete(olderThan before: Date, on db: any SQLDatabase) async throws -> Int {
        try await db.delete(from: "persona_events").where("created_at", .lessThan, before).returning("seq").all().count
    }

    static func event(_ row: any SQLRow, owner: String) throws -> StoredEvent {
        StoredEvent(seq: try row.decode(column: "seq", as: Int.self), owner: try row.decode(column: owner, as: String.self),
                    type: try row.decode(column: "type", as: String.self), data: try row.decode(column: "data", as: String.self),
                    createdAt: try row.decode(column: "created_at", as: Date.self))
    }
}

/// The two event logs the live streams follow.
package enum EventTable: String, Sendable, CaseIterable {
    case runs = "run_events"
    case personas = "persona_events"

    /// The column naming what an event belongs to.
    var owner: String { self == .runs ? "run_id" : "persona_id" }
}
