import Foundation
import PersonaKit
import SQLKit

/// `persona_containers` and `platform_state` access.
package struct ContainerRepository: Sendable {
    package static let columns = ["persona_id", "desired_state", "state", "container_id", "container_name", "image", "token_hash",
                          "token_sealed", "boot_id", "supervisor_version", "registered_at", "last_heartbeat_at", "heartbeat",
                          "heartbeat_interval_seconds", "event_sequence", "exit_code", "last_error", "restart_count",
                          "restart_after", "started_at", "stopped_at", "created_at", "updated_at", "last_active_at",
                          "paused_at", "idle_stopped_at"]

    package func find(personaId: String, on db: any SQLDatabase) async throws -> PersonaContainerRecord? {
        try await db.select().columns(Self.columns.map { SQLColumn($0) }).from("persona_containers")
            .where("persona_id", .equal, personaId).first().map(PersonaContainerRecord.init(row:))
    }

    package func find(tokenHash: String, on db: any SQLDatabase) async throws -> PersonaContainerRecord? {
        try await db.select().columns(Self.columns.map { SQLColumn($0) }).from("persona_containers")
            .where("token_hash", .equal, tokenHash).first().map(PersonaContainerRecord.init(row:))
    }

    package func all(on db: any SQLDatabase) async throws -> [PersonaContainerRecord] {
        try await db.select().columns(Self.columns.map { SQLColumn($0) }).from("persona_containers")
            .orderBy("persona_id").all().map(PersonaContainerRecord.init(row:))
    }

    /// Records a start: desired running, state starting, a fresh token; the registration of
    /// any earlier boot no longer counts. Keeps the event sequence (the supervisor's outbox
    /// lives on in the cache volume).
    package func beginStart(personaId: String, containerName: String, image: String, tokenHash: String, tokenSealed: String,
                    heartbeatSeconds: Int, resetRestarts: Bool, now: Date, on db: any SQLDatabase) async throws {
        var update = db.update("persona_containers")
            .set("desired_state", to: DesiredState.running.rawValue).set("state", to: ContainerState.starting.rawValue)
            .set("container_name", to: containerName).set("image", to: image)
            .set("token_hash", to: tokenHash).set("token_sealed", to: tokenSealed)
            .set("boot_id", to: SQLLiteral.null).set("registered_at", to: SQLLiteral.null)
            .set("heartbeat_interval_seconds", to: heartbeatSeconds)
            .set("exit_code", to: SQLLiteral.null).set("last_error", to: SQLLiteral.null)
            .set("restart_after", to: SQLLiteral.null).set("started_at", to: now).set("updated_at", to: now)
            .set("last_active_at", to: now).set("paused_at", to: SQLLiteral.null).set("idle_stopped_at", to: SQLLiteral.null)
        if resetRestarts { update = update.set("restart_count", to: 0) }
        if try await update.where("persona_id", .equal, personaId).returning("persona_id").first() != nil { return }
        try await db.insert(into: "persona_containers")
            .columns("persona_id", "desired_state", "state", "container_name", "image", "token_hash", "token_sealed",
                     "heartbeat_interval_seconds", "event_sequence", "restart_count", "started_at", "created_at", "updated_at",
                     "last_active_at")
            .values(SQLBind(personaId), SQLBind(DesiredState.running.rawValue), SQLBind(ContainerState.starting.rawValue),
                    SQLBind(containerName), SQLBind(image), SQLBind(tokenHash), SQLBind(tokenSealed), SQLBind(heartbeatSeconds),
                    SQLBind(Int64(0)), SQLBind(0), SQLBind(now), SQLBind(now), SQLBind(now), SQLBind(now))
            .run()
    }

    /// Sets columns of one row. `values` maps column names to bindable values (`nil` = NULL).
    @discardableResult
    package func update(personaId: String, _ values: [String: (any Encodable & Sendable)?], now: Date,
                on db: any SQLDatabase) async throws -> Bool {
        var builder = db.update("persona_containers").set("updated_at", to: now)
        for (column, value) in values.sorted(by: { $0.key < $1.key }) {
            if let value { builder = builder.set(SQLColumn(column), to: SQLBind(value)) } else { builder = builder.set(SQLColumn(column), to: SQLLiteral.null) }
        }
        return try await builder.where("persona_id", .equal, personaId).returning("persona_id").first() != nil
    }

    /// Marks a registration of the current token's container; `false` when the row changed
    /// in between (a newer start).
    package func markRegistered(personaId: String, tokenHash: String, bootId: String, version: String, now: Date,
                        on db: any SQLDatabase) async throws -> Bool {
        try await db.update("persona_containers")
            .set("state", to: ContainerState.ready.rawValue).set("boot_id", to: bootId)
            .set("supervisor_version", to: version).set("registered_at", to: now).set("last_heartbeat_at", to: now)
            .set("last_error", to: SQLLiteral.null).set("updated_at", to: now)
            .where("persona_id", .equal, personaId).where("token_hash", .equal, tokenHash)
            .returning("persona_id").first() != nil
    }

    package func recordHeartbeat(personaId: String, bootId: String, heartbeat: String, healthy: Bool, now: Date,
                         on db: any SQLDatabase) async throws -> Bool {
        var update = db.update("persona_containers")
            .set("last_heartbeat_at", to: now).set("heartbeat", to: heartbeat).set("updated_at", to: now)
        // A fresh heartbeat makes a stale-heartbeat `unhealthy` ready again; a crash-looping
        // or stopped container is not touched (only `ready`/`unhealthy` rows change state).
        update = update.set("state", to: SQLRaw("CASE WHEN state IN ('ready','unhealthy') THEN '\(healthy ? "ready" : "unhealthy")' ELSE state END"))
        return try await update.where("persona_id", .equal, personaId).where("boot_id", .equal, bootId)
            .returning("persona_id").first() != nil
    }

    /// Raises the last seen event sequence; `false` (and nothing changes) when `sequence` is
    /// not newer, i.e. a duplicate delivery.
    package func advanceSequence(personaId: String, to sequence: Int64, on db: any SQLDatabase) async throws -> Bool {
        try await db.update("persona_containers").set("event_sequence", to: sequence)
            .where("persona_id", .equal, personaId).where("event_sequence", .lessThan, sequence)
            .returning("persona_id").first() != nil
    }

    package func delete(personaId: String, on db: any SQLDatabase) async throws {
        try await db.delete(from: "persona_containers").where("persona_id", .equal, personaId).run()
    }

    /// This installation's id, made on first use: it labels every container this control
    /// plane manages, so two installations sharing an engine never touch each other's.
    package func instanceId(on db: any SQLDatabase) async throws -> String {
        if let row = try await db.select().column("value").from("platform_state").where("key", .equal, "instance_id").first() {
            return try row.decode(column: "value", as: String.self)
        }
        try await db.raw("INSERT INTO platform_state (key, value) VALUES ('instance_id', \(bind: Identifier.make())) ON CONFLICT (key) DO NOTHING").run()
        let row = try await db.select().column("value").from("platform_state").where("key", .equal, "instance_id").first()
        guard let row else { throw StorageError(.failed, "platform_state has no instance_id") }
        return try row.decode(column: "value", as: String.self)
    }

    package init() {

    }
}
