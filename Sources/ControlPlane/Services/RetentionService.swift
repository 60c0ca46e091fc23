import Foundation
import Logging
import SQLKit
import ServiceLifecycle
import PersonaStorage
import PersonaCore

/// Applies the retention settings once at start and then every `interval`:
/// - audit events older than `auditRetentionDays` are deleted;
/// - runs that ended more than `runHistoryRetentionDays` ago lose their state deltas (only a
///   run that may resume needs them; each step's timeline entry is kept, so `GET /api/runs/{id}`
///   still shows what happened) and their live-event log (the SSE replay);
/// - persona events (the WebSocket's persona and alert topics) older than
///   `runHistoryRetentionDays` are deleted, and `health` events after a day (the samples
///   themselves stay in `persona_health_metrics`).
struct RetentionService: Service {
    let database: Database
    /// Opened once migrations ran; loops wait on it before their first query.
    let startup: Gate
    let settings = SettingsRepository()
    let logger: Logger
    var interval: Duration = .seconds(3600)

    struct Outcome: Equatable, Sendable {
        var auditEvents = 0
        var compactedCheckpoints = 0
        var runEvents = 0
        var personaEvents = 0
    }

    func run() async throws {
        await startup.wait()
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            do {
                let outcome = try await sweep(now: Date())
                if outcome != Outcome() {
                    logger.info("retention applied", metadata: ["audit_events": "\(outcome.auditEvents)",
                                                                "checkpoints_compacted": "\(outcome.compactedCheckpoints)",
                                                                "run_events": "\(outcome.runEvents)",
                                                                "persona_events": "\(outcome.personaEvents)"])
                }
            } catch {
                logger.warning("applying retention failed", metadata: ["error": "\(error)"])
            }
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) }
        }
    }

    /// One pass; returns how many rows it removed or compacted.
    func sweep(now: Date) async throws -> Outcome {
        let settings = try await settings.load(in: database)
        let auditCutoff = now.addingTimeInterval(-Double(settings.auditRetentionDays) * 86_400)
        let runCutoff = now.addingTimeInterval(-Double(settings.runHistoryRetentionDays) * 86_400)
        return try await database.transaction { tx in
            var outcome = Outcome()
            outcome.auditEvents = try await tx.delete(from: "audit_events").where("created_at", .lessThan, auditCutoff)
                .returning("id").all().count
            let ended: SQLQueryString = """
                SELECT id FROM runs WHERE status IN ('completed', 'failed', 'cancelled') AND completed_at < \(bind: runCutoff)
                """
            outcome.compactedCheckpoints = try await tx.raw("""
                UPDATE run_checkpoints SET delta = '{}' WHERE delta <> '{}' AND run_id IN (\(ended)) RETURNING run_id
                """).all().count
            outcome.runEvents = try await tx.raw("DELETE FROM run_events WHERE run_id IN (\(ended)) RETURNING seq").all().count
            outcome.personaEvents = try await PersonaEventRepository().delete(olderThan: runCutoff, on: tx)
                + tx.delete(from: "persona_events").where("created_at", .lessThan, now.addingTimeInterval(-86_400))
                    .where("type", .equal, "health").returning("seq").all().count
            return outcome
        }
    }
}
