import Foundation
import SQLKit

/// `persona_health_metrics` access, and the activity figures the health monitor samples.
package struct HealthRepository: Sendable {
    package let kind: SQLDialectKind

    package init(kind: SQLDialectKind) {
        self.kind = kind
    }

    package func insert(_ samples: [HealthSample], on db: any SQLDatabase) async throws {
        guard !samples.isEmpty else { return }
        var insert = db.insert(into: "persona_health_metrics").columns(HealthSample.columns.map { SQLIdentifier($0) })
        for sample in samples { insert = insert.values(sample.binds.map { SQLBind($0) }) }
        try await insert.run()
    }

    /// The persona's newest row.
    package func latest(personaId: String, on db: any SQLDatabase) async throws -> HealthSample? {
        try await db.select().columns(HealthSample.columns.map { SQLColumn($0) }).from("persona_health_metrics")
            .where("persona_id", .equal, personaId).orderBy("sampled_at", .descending).limit(1).first()
            .map(HealthSample.init(row:))
    }

    /// The persona's rows from `since` to `until`, oldest first, at most `limit`.
    package func range(personaId: String, since: Date, until: Date, limit: Int, on db: any SQLDatabase) async throws -> [HealthSample] {
        try await db.select().columns(HealthSample.columns.map { SQLColumn($0) }).from("persona_health_metrics")
            .where("persona_id", .equal, personaId).where("sampled_at", .greaterThanOrEqual, since)
            .where("sampled_at", .lessThanOrEqual, until).orderBy("sampled_at").limit(limit).all()
            .map(HealthSample.init(row:))
    }

    /// What each persona is doing, for a sample at `until`: runs queued, running or awaiting
    /// approval and tool calls running now, and the LLM steps (with their tokens) its runs
    /// recorded after `since`. Three grouped queries for every persona at once, each on an index.
    package struct Activity: Sendable, Equatable {
        package var activeRuns = 0
        package var openToolRuns = 0
        package var llmCalls = 0
        package var llmTokens: Int64 = 0
    }

    package func activity(since: Date, until: Date, on db: any SQLDatabase) async throws -> [String: Activity] {
        var out: [String: Activity] = [:]
        for row in try await db.raw("""
            SELECT persona_id, COUNT(*) AS n FROM runs WHERE status IN ('queued', 'running', 'awaiting_approval') GROUP BY persona_id
            """).all() {
            out[try row.decode(column: "persona_id", as: String.self), default: Activity()].activeRuns = try row.decode(column: "n", as: Int.self)
        }
        for row in try await db.raw("SELECT persona_id, COUNT(*) AS n FROM tool_runs WHERE status = 'running' GROUP BY persona_id").all() {
            out[try row.decode(column: "persona_id", as: String.self), default: Activity()].openToolRuns = try row.decode(column: "n", as: Int.self)
        }
        let tokens: SQLQueryString = kind == .postgres
            ? "COALESCE((c.meta::jsonb->>'promptTokens')::bigint, 0) + COALESCE((c.meta::jsonb->>'completionTokens')::bigint, 0)"
            : "COALESCE(json_extract(c.meta, '$.promptTokens'), 0) + COALESCE(json_extract(c.meta, '$.completionTokens'), 0)"
        for row in try await db.raw("""
            SELECT r.persona_id AS persona_id, COUNT(*) AS calls, COALESCE(SUM(\(tokens)), 0) AS tokens
            FROM run_checkpoints c JOIN runs r ON r.id = c.run_id
            WHERE c.node = 'llm' AND c.created_at > \(bind: since) AND c.created_at <= \(bind: until)
            GROUP BY r.persona_id
            """).all() {
            let id = try row.decode(column: "persona_id", as: String.self)
            out[id, default: Activity()].llmCalls = try row.decode(column: "calls", as: Int.self)
            out[id, default: Activity()].llmTokens = try row.decode(column: "tokens", as: Int64.self)
        }
        return out
    }

    /// Merges rows finer than `resolution` seconds and older than `before` into one row per
    /// persona and `resolution`-aligned bucket (see ``HealthSample/merge(_:at:resolutionSeconds:)``),
    /// at most `personas` personas and `rowsPerPersona` rows each per call.
    /// - Returns: how many rows were merged away.
    @discardableResult
    package func downsample(before: Date, resolution: Int = 300, personas: Int = 200, rowsPerPersona: Int = 20_000,
                            on db: any SQLDatabase) async throws -> Int {
        let step = Double(resolution)
        // Only whole buckets: the cut-off moves back to a bucket boundary.
        let cutoff = Date(timeIntervalSince1970: (before.timeIntervalSince1970 / step).rounded(.down) * step)
        let ids = try await db.raw("""
            SELECT DISTINCT persona_id FROM persona_health_metrics
            WHERE resolution_seconds < \(bind: resolution) AND sampled_at < \(bind: cutoff) LIMIT \(bind: personas)
            """).all().map { try $0.decode(column: "persona_id", as: String.self) }
        var merged = 0
        for id in ids {
            var rows = try await db.select().columns(HealthSample.columns.map { SQLColumn($0) }).from("persona_health_metrics")
                .where("persona_id", .equal, id).where("sampled_at", .lessThan, cutoff).orderBy("sampled_at")
                .limit(rowsPerPersona + 1).all().map(HealthSample.init(row:))
            func bucket(_ sample: HealthSample) -> Double { (sample.sampledAt.timeIntervalSince1970 / step).rounded(.down) * step }
            if rows.count > rowsPerPersona, let last = rows.last {
                // The last bucket may go on past the page: leave it to the next call.
                let open = bucket(last)
                rows.removeAll { bucket($0) == open }
            }
            let buckets = Dictionary(grouping: rows, by: bucket)
            for (start, members) in buckets where members.contains(where: { $0.resolutionSeconds < resolution }) {
                try await db.delete(from: "persona_health_metrics").where("persona_id", .equal, id)
                    .where("sampled_at", .greaterThanOrEqual, Date(timeIntervalSince1970: start))
                    .where("sampled_at", .lessThan, Date(timeIntervalSince1970: start + step)).run()
                try await insert([HealthSample.merge(members, at: Date(timeIntervalSince1970: start), resolutionSeconds: resolution)], on: db)
                merged += members.count
            }
        }
        return merged
    }

    /// The oldest row's time (one index lookup), `nil` when there are none.
    package func oldest(on db: any SQLDatabase) async throws -> Date? {
        try await db.select().column("sampled_at").from("persona_health_metrics").orderBy("sampled_at").limit(1).first()?
            .decode(column: "sampled_at", as: Date.self)
    }

    /// Deletes rows older than `before`; returns how many.
    @discardableResult
    package func delete(olderThan before: Date, on db: any SQLDatabase) async throws -> Int {
        try await db.delete(from: "persona_health_metrics").where("sampled_at", .lessThan, before).returning("persona_id").all().count
    }
}
