extension Database {
    /// Migration 4: human approval of tool calls (`run_approvals`) and a per-persona override of
    /// a tool's `requiresApproval`. Kept in step with docs/data-model.md.
    package static let approvalsSchema = Migration(version: 4, name: "approvals") { t in
        [
            """
            CREATE TABLE run_approvals (
              run_id TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE, step INTEGER NOT NULL, call_id TEXT NOT NULL,
              tool TEXT NOT NULL, arguments TEXT NOT NULL, status TEXT NOT NULL, comment TEXT, decided_by TEXT,
              created_at \(t.time) NOT NULL, decided_at \(t.time),
              PRIMARY KEY (run_id, step, call_id))
            """,
            "ALTER TABLE persona_tools ADD COLUMN requires_approval \(t.bool)",
        ]
    }
}
