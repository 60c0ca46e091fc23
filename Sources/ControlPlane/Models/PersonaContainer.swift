import Foundation
import PersonaKit
import SQLKit

/// What an operator asked for: the persona's container running, or not.
enum DesiredState: String, Codable, Sendable {
    case running, stopped
}

/// What the API reports for a persona's container.
public enum ContainerState: String, Codable, Sendable, CaseIterable {
    /// No container runs (never started, stopped, or exited cleanly).
    case stopped
    /// Created and started; the supervisor has not registered yet (or a restart is pending).
    case starting
    /// The supervisor registered and its heartbeats are fresh.
    case ready
    /// Running, but the engine's health check fails, heartbeats stopped, or it crashed and a
    /// restart is scheduled.
    case unhealthy
    /// Could not be created or started, or crashed more often than the restart policy allows.
    case failed
}

/// A row of `persona_containers`: desired state, what was last seen, and the container token
/// (hashed for lookups, sealed so the control plane can call the supervisor after a restart).
struct PersonaContainerRecord: Sendable {
    var personaId: String
    var desiredState: DesiredState
    var state: ContainerState
    var containerId: String?
    var containerName: String
    var image: String
    var tokenHash: String
    var tokenSealed: String
    var bootId: String?
    var supervisorVersion: String?
    var registeredAt: Date?
    var lastHeartbeatAt: Date?
    var heartbeat: Heartbeat?
    var heartbeatIntervalSeconds: Int
    var eventSequence: Int64
    var exitCode: Int?
    var lastError: String?
    var restartCount: Int
    var restartAfter: Date?
    var startedAt: Date?
    var stoppedAt: Date?
    var createdAt: Date
    var updatedAt: Date

    init(row: any SQLRow) throws {
        personaId = try row.decode(column: "persona_id", as: String.self)
        desiredState = DesiredState(rawValue: try row.decode(column: "desired_state", as: String.self)) ?? .stopped
        state = ContainerState(rawValue: try row.decode(column: "state", as: String.self)) ?? .failed
        containerId = try row.decode(column: "container_id", as: String?.self)
        containerName = try row.decode(column: "container_name", as: String.self)
        image = try row.decode(column: "image", as: String.self)
        tokenHash = try row.decode(column: "token_hash", as: String.self)
        tokenSealed = try row.decode(column: "token_sealed", as: String.self)
        bootId = try row.decode(column: "boot_id", as: String?.self)
        supervisorVersion = try row.decode(column: "supervisor_version", as: String?.self)
        registeredAt = try row.decode(column: "registered_at", as: Date?.self)
        lastHeartbeatAt = try row.decode(column: "last_heartbeat_at", as: Date?.self)
        heartbeat = try row.decode(column: "heartbeat", as: String?.self).flatMap { try? JSONCoding.decode(Heartbeat.self, from: $0) }
        heartbeatIntervalSeconds = try row.decode(column: "heartbeat_interval_seconds", as: Int.self)
        eventSequence = try row.decode(column: "event_sequence", as: Int64.self)
        exitCode = try row.decode(column: "exit_code", as: Int?.self)
        lastError = try row.decode(column: "last_error", as: String?.self)
        restartCount = try row.decode(column: "restart_count", as: Int.self)
        restartAfter = try row.decode(column: "restart_after", as: Date?.self)
        startedAt = try row.decode(column: "started_at", as: Date?.self)
        stoppedAt = try row.decode(column: "stopped_at", as: Date?.self)
        createdAt = try row.decode(column: "created_at", as: Date.self)
        updatedAt = try row.decode(column: "updated_at", as: Date.self)
    }

    /// Heartbeats older than this mean the supervisor stopped answering.
    var heartbeatDeadline: TimeInterval { Double(heartbeatIntervalSeconds * 3 + 5) }
}

/// `GET /api/personas/{id}/container`.
struct ContainerStatusDTO: Codable, Sendable {
    struct Resources: Codable, Sendable {
        var cpuPercent: Double?
        var memoryBytes: Int?
        var memoryLimitBytes: Int?
        var pids: Int?
    }

    struct Ports: Codable, Sendable {
        /// `127.0.0.1:PORT` of the supervisor when the control channel is TCP.
        var supervisor: String?
    }

    var personaId: String
    var state: ContainerState
    var desiredState: String
    var containerId: String?
    var containerName: String?
    var image: String?
    /// The engine's health check (`starting`, `healthy`, `unhealthy`) when the container runs.
    var health: String?
    var supervisor: SupervisorStatus?
    var startedAt: Date?
    var stoppedAt: Date?
    var exitCode: Int?
    var restartCount: Int
    var lastError: String?
    var hostPorts: Ports
    var resources: Resources?

    struct SupervisorStatus: Codable, Sendable {
        var version: String?
        var bootId: String?
        var registeredAt: Date?
        var lastHeartbeatAt: Date?
        var status: String?
        var rssBytes: Int?
        var runningInvocations: Int?
        var outboxDepth: Int?
        var sidecars: [SidecarHealth]
    }
}

/// `persona_containers` and `platform_state` access.
struct ContainerRepository: Sendable {
    static let columns = ["persona_id", "desired_state", "state", "container_id", "container_name", "image", "token_hash",
                          "token_sealed", "boot_id", "supervisor_version", "registered_at", "last_heartbeat_at", "heartbeat",
                          "heartbeat_interval_seconds", "event_sequence", "exit_code", "last_error", "restart_count",
                          "restart_after", "started_at", "stopped_at", "created_at", "updated_at"]

    func find(personaId: String, on db: any SQLDatabase) async throws -> PersonaContainerRecord? {
        try await db.select().columns(Self.columns.map { SQLColumn($0) }).from("persona_containers")
            .where("persona_id", .equal, personaId).first().map(PersonaContainerRecord.init(row:))
    }

    func find(tokenHash: String, on db: any SQLDatabase) async throws -> PersonaContainerRecord? {
        try await db.select().columns(Self.columns.map { SQLColumn($0) }).from("persona_containers")
            .where("token_hash", .equal, tokenHash).first().map(PersonaContainerRecord.init(row:))
    }

    func all(on db: any SQLDatabase) async throws -> [PersonaContainerRecord] {
        try await db.select().columns(Self.columns.map { SQLColumn($0) }).from("persona_containers")
            .orderBy("persona_id").all().map(PersonaContainerRecord.init(row:))
    }

    /// Records a start: desired running, state starting, a fresh token; the registration of
    /// any earlier boot no longer counts. Keeps the event sequence (the supervisor's outbox
    /// lives on in the cache volume).
    func beginStart(personaId: String, containerName: String, image: String, tokenHash: String, tokenSealed: String,
                    heartbeatSeconds: Int, resetRestarts: Bool, now: Date, on db: any SQLDatabase) async throws {
        var update = db.update("persona_containers")
            .set("desired_state", to: DesiredState.running.rawValue).set("state", to: ContainerState.starting.rawValue)
            .set("container_name", to: containerName).set("image", to: image)
            .set("token_hash", to: tokenHash).set("token_sealed", to: tokenSealed)
            .set("boot_id", to: SQLLiteral.null).set("registered_at", to: SQLLiteral.null)
            .set("heartbeat_interval_seconds", to: heartbeatSeconds)
            .set("exit_code", to: SQLLiteral.null).set("last_error", to: SQLLiteral.null)
            .set("restart_after", to: SQLLiteral.null).set("started_at", to: now).set("updated_at", to: now)
        if resetRestarts { update = update.set("restart_count", to: 0) }
        if try await update.where("persona_id", .equal, personaId).returning("persona_id").first() != nil { return }
        try await db.insert(into: "persona_containers")
            .columns("persona_id", "desired_state", "state", "container_name", "image", "token_hash", "token_sealed",
                     "heartbeat_interval_seconds", "event_sequence", "restart_count", "started_at", "created_at", "updated_at")
            .values(SQLBind(personaId), SQLBind(DesiredState.running.rawValue), SQLBind(ContainerState.starting.rawValue),
                    SQLBind(containerName), SQLBind(image), SQLBind(tokenHash), SQLBind(tokenSealed), SQLBind(heartbeatSeconds),
                    SQLBind(Int64(0)), SQLBind(0), SQLBind(now), SQLBind(now), SQLBind(now))
            .run()
    }

    /// Sets columns of one row. `values` maps column names to bindable values (`nil` = NULL).
    @discardableResult
    func update(personaId: String, _ values: [String: (any Encodable & Sendable)?], now: Date,
                on db: any SQLDatabase) async throws -> Bool {
        var builder = db.update("persona_containers").set("updated_at", to: now)
        for (column, value) in values.sorted(by: { $0.key < $1.key }) {
            if let value { builder = builder.set(SQLColumn(column), to: SQLBind(value)) } else { builder = builder.set(SQLColumn(column), to: SQLLiteral.null) }
        }
        return try await builder.where("persona_id", .equal, personaId).returning("persona_id").first() != nil
    }

    /// Marks a registration of the current token's container; `false` when the row changed
    /// in between (a newer start).
    func markRegistered(personaId: String, tokenHash: String, bootId: String, version: String, now: Date,
                        on db: any SQLDatabase) async throws -> Bool {
        try await db.update("persona_containers")
            .set("state", to: ContainerState.ready.rawValue).set("boot_id", to: bootId)
            .set("supervisor_version", to: version).set("registered_at", to: now).set("last_heartbeat_at", to: now)
            .set("last_error", to: SQLLiteral.null).set("updated_at", to: now)
            .where("persona_id", .equal, personaId).where("token_hash", .equal, tokenHash)
            .returning("persona_id").first() != nil
    }

    func recordHeartbeat(personaId: String, bootId: String, heartbeat: String, healthy: Bool, now: Date,
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
    func advanceSequence(personaId: String, to sequence: Int64, on db: any SQLDatabase) async throws -> Bool {
        try await db.update("persona_containers").set("event_sequence", to: sequence)
            .where("persona_id", .equal, personaId).where("event_sequence", .lessThan, sequence)
            .returning("persona_id").first() != nil
    }

    func delete(personaId: String, on db: any SQLDatabase) async throws {
        try await db.delete(from: "persona_containers").where("persona_id", .equal, personaId).run()
    }

    /// This installation's id, made on first use: it labels every container this control
    /// plane manages, so two installations sharing an engine never touch each other's.
    func instanceId(on db: any SQLDatabase) async throws -> String {
        if let row = try await db.select().column("value").from("platform_state").where("key", .equal, "instance_id").first() {
            return try row.decode(column: "value", as: String.self)
        }
        try await db.raw("INSERT INTO platform_state (key, value) VALUES ('instance_id', \(bind: Identifier.make())) ON CONFLICT (key) DO NOTHING").run()
        let row = try await db.select().column("value").from("platform_state").where("key", .equal, "instance_id").first()
        guard let row else { throw StorageError(.failed, "platform_state has no instance_id") }
        return try row.decode(column: "value", as: String.self)
    }
}
