import Foundation
import SQLKit

/// Idle pause and wake: the transitions are conditional updates, so two control planes (or a
/// sweep and a caller) never both win one. A caller notes its activity before it reads the
/// state; a sweep claims a transition only while the activity is still older than its cutoff.
/// Either the claim fails, or the caller reads the new state and wakes the container.
extension ContainerRepository {
    /// Notes activity: only `last_active_at` (no `updated_at`, no state event).
    package func touch(personaId: String, now: Date, on db: any SQLDatabase) async throws {
        try await db.update("persona_containers").set("last_active_at", to: now).where("persona_id", .equal, personaId).run()
    }

    /// `ready` -> `paused` for the container `containerId`, if nothing happened since `cutoff`;
    /// `false` when the row changed (activity, another start, another sweep).
    package func claimPause(personaId: String, containerId: String, cutoff: Date, now: Date, on db: any SQLDatabase) async throws -> Bool {
        try await db.update("persona_containers")
            .set("state", to: ContainerState.paused.rawValue).set("paused_at", to: now).set("updated_at", to: now)
            .where("persona_id", .equal, personaId).where("container_id", .equal, containerId)
            .where("desired_state", .equal, DesiredState.running.rawValue).where("state", .equal, ContainerState.ready.rawValue)
            .where { idle($0, cutoff: cutoff) }
            .returning("persona_id").first() != nil
    }

    /// `ready` or `paused` -> `stopped` for idleness: `desired_state` stays `running` (the next
    /// use starts it again), the container is forgotten (the caller removes it).
    package func claimIdleStop(personaId: String, containerId: String, cutoff: Date, now: Date,
                               on db: any SQLDatabase) async throws -> Bool {
        try await db.update("persona_containers")
            .set("state", to: ContainerState.stopped.rawValue).set("idle_stopped_at", to: now).set("stopped_at", to: now)
            .set("paused_at", to: SQLLiteral.null).set("container_id", to: SQLLiteral.null).set("boot_id", to: SQLLiteral.null)
            .set("restart_after", to: SQLLiteral.null).set("updated_at", to: now)
            .where("persona_id", .equal, personaId).where("container_id", .equal, containerId)
            .where("desired_state", .equal, DesiredState.running.rawValue)
            .where("state", .in, [ContainerState.ready.rawValue, ContainerState.paused.rawValue])
            .where { idle($0, cutoff: cutoff) }
            .returning("persona_id").first() != nil
    }

    /// `paused` -> `ready` after an unpause (or a pause that did not happen). The heartbeat
    /// deadline starts again now: the supervisor's clock was frozen with it.
    @discardableResult
    package func endPause(personaId: String, now: Date, on db: any SQLDatabase) async throws -> Bool {
        try await db.update("persona_containers")
            .set("state", to: ContainerState.ready.rawValue).set("paused_at", to: SQLLiteral.null)
            .set("last_heartbeat_at", to: now).set("updated_at", to: now)
            .where("persona_id", .equal, personaId).where("state", .equal, ContainerState.paused.rawValue)
            .returning("persona_id").first() != nil
    }

    /// No activity after `cutoff`, and not started after it either (`idleSince` in SQL).
    private func idle<Builder: SQLPredicateBuilder>(_ builder: Builder, cutoff: Date) -> Builder {
        builder
            .where { $0.where("last_active_at", .lessThanOrEqual, SQLBind(cutoff)).orWhere("last_active_at", .is, SQLLiteral.null) }
            .where { $0.where("started_at", .lessThanOrEqual, SQLBind(cutoff)).orWhere("started_at", .is, SQLLiteral.null) }
    }
}
