import Foundation
import PersonaKit
import SQLKit

/// One `persona_alerts` row.
package struct PersonaAlert: Codable, Sendable, Equatable {
    package enum Kind: String, Codable, Sendable, CaseIterable {
        case cpuHigh = "cpu_high", memoryHigh = "memory_high", heartbeatMissed = "heartbeat_missed", restarted
        case ingestionFailed = "ingestion_failed"
    }

    package var id: String
    package var personaId: String
    package var kind: Kind
    /// `open` or `resolved`.
    package var status: String
    package var message: String
    package var value: Double?
    package var threshold: Double?
    package var openedAt: Date
    package var resolvedAt: Date?

    init(row: any SQLRow) throws {
        id = try row.decode(column: "id", as: String.self)
        personaId = try row.decode(column: "persona_id", as: String.self)
        kind = Kind(rawValue: try row.decode(column: "kind", as: String.self)) ?? .cpuHigh
        status = try row.decode(column: "status", as: String.self)
        message = try row.decode(column: "message", as: String.self)
        value = try row.decode(column: "value", as: Double?.self)
        threshold = try row.decode(column: "threshold", as: Double?.self)
        openedAt = try row.decode(column: "opened_at", as: Date.self)
        resolvedAt = try row.decode(column: "resolved_at", as: Date?.self)
    }
}

/// `persona_alerts` access: open (once per persona and kind), resolve, list. Each change is
/// also an `alert.opened` / `alert.resolved` row in `persona_events` (the WebSocket's `alerts`
/// topic and the webhook follow those), written in the same transaction.
package struct AlertRepository: Sendable {
    let events = PersonaEventRepository()

    package init() {}

    /// Opens an alert unless one of that kind is open for the persona.
    /// - Returns: the new alert's id, or `nil` when one was already open.
    package func open(personaId: String, kind: PersonaAlert.Kind, message: String, value: Double?, threshold: Double?, now: Date,
                      on db: any SQLDatabase) async throws -> String? {
        let exists = try await db.select().column("id").from("persona_alerts").where("persona_id", .equal, personaId)
            .where("kind", .equal, kind.rawValue).where("status", .equal, "open").first()
        guard exists == nil else { return nil }
        let id = Identifier.make()
        try await db.insert(into: "persona_alerts")
            .columns("id", "persona_id", "kind", "status", "message", "value", "threshold", "opened_at")
            .values(SQLBind(id), SQLBind(personaId), SQLBind(kind.rawValue), SQLBind("open"), SQLBind(message), SQLBind(value),
                    SQLBind(threshold), SQLBind(now))
            .run()
        try await events.append(personaId: personaId, type: "alert.opened", data: [
            "alertId": .string(id), "personaId": .string(personaId), "kind": .string(kind.rawValue), "status": "open",
            "message": .string(message), "value": value.map { .number($0) } ?? .null, "threshold": threshold.map { .number($0) } ?? .null,
            "openedAt": .string(JSONCoding.formatTimestamp(now)),
        ], now: now, on: db)
        return id
    }

    /// Resolves the persona's open alert of `kind`; returns its id, or `nil` when none was open.
    package func resolve(personaId: String, kind: PersonaAlert.Kind, now: Date, on db: any SQLDatabase) async throws -> String? {
        guard let id = try await db.update("persona_alerts").set("status", to: "resolved").set("resolved_at", to: now)
            .where("persona_id", .equal, personaId).where("kind", .equal, kind.rawValue).where("status", .equal, "open")
            .returning("id").first()?.decode(column: "id", as: String.self) else { return nil }
        try await events.append(personaId: personaId, type: "alert.resolved", data: [
            "alertId": .string(id), "personaId": .string(personaId), "kind": .string(kind.rawValue), "status": "resolved",
            "resolvedAt": .string(JSONCoding.formatTimestamp(now)),
        ], now: now, on: db)
        return id
    }

    /// The persona's alerts, newest first; `status` `open` or `resolved` filters.
    package func list(personaId: String, status: String?, limit: Int, on db: any SQLDatabase) async throws -> [PersonaAlert] {
        var query = db.select().column("*").from("persona_alerts").where("persona_id", .equal, personaId)
        if let status { query = query.where("status", .equal, status) }
        return try await query.orderBy("opened_at", .descending).limit(limit).all().map(PersonaAlert.init(row:))
    }

    /// Every open alert, by persona.
    package func open(on db: any SQLDatabase) async throws -> [String: [PersonaAlert]] {
        Dictionary(grouping: try await db.select().column("*").from("persona_alerts").where("status", .equal, "open")
            .orderBy("opened_at").all().map(PersonaAlert.init(row:)), by: \.personaId)
    }
}
