extension Database {
    /// Migration 14: what `GET /api/dashboard` reads by time. Runs and tool runs by persona and
    /// creation time, so a caller's window of days is one index range per visible persona
    /// however long the history is; approvals by creation time (the requests-per-day series).
    /// Kept in step with docs/data-model.md.
    package static let dashboardIndexesSchema = Migration(version: 14, name: "dashboard_indexes") { _ in
        [
            "CREATE INDEX runs_persona_created_idx ON runs (persona_id, created_at)",
            "CREATE INDEX tool_runs_persona_created_idx ON tool_runs (persona_id, created_at)",
            "CREATE INDEX run_approvals_created_idx ON run_approvals (created_at)",
        ]
    }
}
