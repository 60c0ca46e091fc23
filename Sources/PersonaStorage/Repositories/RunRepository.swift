import Foundation
import PersonaKit
import SQLKit

/// `runs`, `run_checkpoints` and `run_events` access, including the queue: runs are claimed
/// with a lease that the worker extends while it works; an expired lease is up for grabs.
package struct RunRepository: Sendable {
    package func insert(_ run: Run, on db: any SQLDatabase) async throws {
        try await db.insert(into: "runs")
            .columns("id", "persona_id", "agent_id", "created_by", "status", "input", "trace_id", "span_id", "step_count",
                     "cancel_requested", "prompt_tokens", "completion_tokens", "created_at", "updated_at")
            .values(SQLBind(run.id), SQLBind(run.personaId), SQLBind(run.agentId), SQLBind(run.createdBy),
                    SQLBind(run.status.rawValue), SQLBind(run.input), SQLBind(run.traceId), SQLBind(run.spanId),
                    SQLBind(run.stepCount), SQLBind(run.cancelRequested), SQLBind(0), SQLBind(0),
                    SQLBind(run.createdAt), SQLBind(run.updatedAt))
            .run()
    }

    package func find(id: String, on db: any SQLDatabase) async throws -> Run? {
        try await db.select().column("*").from("runs").where("id", .equal, id).first().map(Run.init(row:))
    }

    /// Runs of the given personas (all when `personaIds` is nil: admins), newest first.
    package func list(personaIds: [String]?, agentId: String?, status: RunStatus?, cursor: String?, limit: Int,
              on db: any SQLDatabase) async throws -> [Run] {
        var query = db.select().column("*").from("runs")
        if let personaIds {
            guard !personaIds.isEmpty else { return [] }
            query = query.where("persona_id", .in, personaIds)
        }
        if let agentId { query = query.where("agent_id", .equal, agentId) }
        if let status { query = query.where("status", .equal, status.rawValue) }
        if let cursor { query = query.where("id", .lessThan, cursor) }
        return try await query.orderBy("id", .descending).limit(limit).all().map(Run.init(row:))
    }

    /// Claims the oldest runnable run: queued, or running with an expired lease (its worker
    /// died). PostgreSQL skips rows other workers are claiming (`FOR UPDATE SKIP LOCKED`);
    /// SQLite has one writer, so the conditional update is enough.
    package func claim(owner: String, leaseSeconds: Double, now: Date, on db: any SQLDatabase, kind: SQLDialectKind) async throws -> Run? {
        let lock = kind == .postgres ? " FOR UPDATE SKIP LOCKED" : ""
        guard let row = try await db.raw("""
            SELECT id FROM runs
            WHERE status = 'queued' OR (status = 'running' AND lease_expires_at < \(bind: now))
            ORDER BY id LIMIT 1\(unsafeRaw: lock)
            """).first() else { return nil }
        let id = try row.decode(column: "id", as: String.self)
        let claimed = try await db.update("runs")
            .set("status", to: RunStatus.running.rawValue).set("lease_owner", to: owner)
            .set("lease_expires_at", to: now.addingTimeInterval(leaseSeconds)).set("updated_at", to: now)
            .where("id", .equal, id)
            .where { $0.where("status", .equal, RunStatus.queued.rawValue).orWhere("lease_expires_at", .lessThan, now) }
            .returning("*").first()
        guard let claimed else { return nil }
        var run = try Run(row: claimed)
        if run.startedAt == nil {
            try await db.update("runs").set("started_at", to: now).where("id", .equal, id).run()
            run.startedAt = now
        }
        return run
    }

    /// Extends the lease if `owner` still holds it; returns whether cancellation was requested,
    /// or `nil` when the lease was lost.
    package func heartbeat(id: String, owner: String, leaseSeconds: Double, now: Date, on db: any SQLDatabase) async throws -> Bool? {
        try await db.update("runs").set("lease_expires_at", to: now.addingTimeInterval(leaseSeconds))
            .where("id", .equal, id).where("lease_owner", .equal, owner).where("status", .equal, RunStatus.running.rawValue)
            .returning("cancel_requested").first()?.decode(column: "cancel_requested", as: Bool.self)
    }

    package func requestCancel(id: String, now: Date, on db: any SQLDatabase) async throws {
        try await db.update("runs").set("cancel_requested", to: true).set("updated_at", to: now).where("id", .equal, id).run()
    }

    /// Moves a run to a final (or waiting) status; only the lease holder may (or anyone for a
    /// run no worker holds: queued or awaiting approval).
    package func finish(id: String, owner: String?, status: RunStatus, output: String?, error: String?, now: Date,
                on db: any SQLDatabase) async throws -> Bool {
        var query = db.update("runs").set("status", to: status.rawValue).set("output", to: output).set("error", to: error)
            .set("updated_at", to: now).set("lease_owner", to: SQLLiteral.null).set("lease_expires_at", to: SQLLiteral.null)
        if status.isFinal { query = query.set("completed_at", to: now) }
        query = query.where("id", .equal, id)
        if let owner {
            query = query.where("lease_owner", .equal, owner)
        } else {
            query = query.where("status", .in, [RunStatus.queued.rawValue, RunStatus.awaitingApproval.rawValue])
        }
        return try await query.returning("id").first() != nil
    }

    /// Records one finished step in one statement (atomic on its own, one commit): its
    /// checkpoint (delta and timeline entry), the run's step counter, next node and token
    /// totals, and its `step_finished` event. SQLite does the last two in a trigger (migration
    /// 5), PostgreSQL in data-modifying CTEs: a step costs one round trip and one fsync.
    package func recordStep(runId: String, step: Int, node: String, delta: String, meta: JSONValue, spanId: String, next: String,
                    tokens: (Int, Int), now: Date, on db: any SQLDatabase, kind: SQLDialectKind) async throws {
        let metaText = try JSONCoding.encodeString(meta)
        switch kind {
        case .sqlite:
            try await db.raw("""
                INSERT INTO run_checkpoints (run_id, step, node, delta, meta, span_id, next_node, created_at)
                VALUES (\(bind: runId), \(bind: step), \(bind: node), \(bind: delta), \(bind: metaText), \(bind: spanId), \(bind: next), \(bind: now))
                """).run()
        case .postgres:
            let event = try JSONCoding.encodeString(JSONValue.object(["step": .number(Double(step)), "node": .string(node), "detail": meta]))
            try await db.raw("""
                WITH checkpoint AS (
                  INSERT INTO run_checkpoints (run_id, step, node, delta, meta, span_id, next_node, created_at)
                  VALUES (\(bind: runId), \(bind: step), \(bind: node), \(bind: delta), \(bind: metaText), \(bind: spanId), \(bind: next), \(bind: now))
                ), event AS (
                  INSERT INTO run_events (run_id, type, data, created_at) VALUES (\(bind: runId), 'step_finished', \(bind: event), \(bind: now))
                )
                UPDATE runs SET step_count = \(bind: step), next_node = \(bind: next), updated_at = \(bind: now),
                  prompt_tokens = prompt_tokens + \(bind: tokens.0), completion_tokens = completion_tokens + \(bind: tokens.1)
                WHERE id = \(bind: runId)
                """).run()
        }
    }

    /// Checkpoint deltas in order, to rebuild a run's state after a restart.
    package func deltas(runId: String, on db: any SQLDatabase) async throws -> [String] {
        try await db.select().column("delta").from("run_checkpoints").where("run_id", .equal, runId).orderBy("step")
            .all().map { try $0.decode(column: "delta", as: String.self) }
    }

    package func steps(runId: String, on db: any SQLDatabase) async throws -> [RunStep] {
        try await db.select().columns("step", "node", "span_id", "meta", "created_at").from("run_checkpoints")
            .where("run_id", .equal, runId).orderBy("step").all().map { row in
                RunStep(step: try row.decode(column: "step", as: Int.self), node: try row.decode(column: "node", as: String.self),
                        spanId: try row.decode(column: "span_id", as: String.self),
                        detail: (try? JSONCoding.decode(JSONValue.self, from: try row.decode(column: "meta", as: String.self))) ?? .null,
                        createdAt: try row.decode(column: "created_at", as: Date.self))
            }
    }

    package func appendEvent(runId: String, type: String, data: JSONValue, now: Date, on db: any SQLDatabase) async throws {
        try await db.insert(into: "run_events").columns("run_id", "type", "data", "created_at")
            .values(SQLBind(runId), SQLBind(type), SQLBind(try JSONCoding.encodeString(data)), SQLBind(now)).run()
    }

    package func events(runId: String, after seq: Int, limit: Int, on db: any SQLDatabase) async throws -> [(seq: Int, type: String, data: String)] {
        try await db.select().columns("seq", "type", "data").from("run_events").where("run_id", .equal, runId)
            .where("seq", .greaterThan, seq).orderBy("seq").limit(limit).all().map {
                (try $0.decode(column: "seq", as: Int.self), try $0.decode(column: "type", as: String.self),
                 try $0.decode(column: "data", as: String.self))
            }
    }

    package init() {

    }
}
