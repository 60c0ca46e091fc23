extension Database {
    /// Migration 2: agents, runs (the queue), run checkpoints (deltas) and run events (SSE log).
    /// Kept in step with docs/data-model.md.
    package static let runsSchema = Migration(version: 2, name: "runs") { t in
        let serial = t.kind == .postgres ? "BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY" : "INTEGER PRIMARY KEY AUTOINCREMENT"
        return [
            """
            CREATE TABLE agents (
              id TEXT PRIMARY KEY, persona_id TEXT NOT NULL REFERENCES personas(id) ON DELETE CASCADE,
              name TEXT NOT NULL, model TEXT NOT NULL, system_prompt TEXT, temperature \(t.real),
              max_steps INTEGER NOT NULL, tools TEXT NOT NULL, created_by TEXT,
              created_at \(t.time) NOT NULL, updated_at \(t.time) NOT NULL)
            """,
            "CREATE INDEX agents_persona_idx ON agents (persona_id, id)",
            """
            CREATE TABLE runs (
              id TEXT PRIMARY KEY, persona_id TEXT NOT NULL REFERENCES personas(id) ON DELETE CASCADE,
              agent_id TEXT REFERENCES agents(id) ON DELETE SET NULL, created_by TEXT,
              status TEXT NOT NULL, input TEXT NOT NULL, output TEXT, error TEXT,
              trace_id TEXT NOT NULL, span_id TEXT NOT NULL, step_count INTEGER NOT NULL, next_node TEXT,
              lease_owner TEXT, lease_expires_at \(t.time), cancel_requested \(t.bool) NOT NULL,
              prompt_tokens INTEGER NOT NULL, completion_tokens INTEGER NOT NULL,
              created_at \(t.time) NOT NULL, updated_at \(t.time) NOT NULL,
              started_at \(t.time), completed_at \(t.time))
            """,
            "CREATE INDEX runs_persona_idx ON runs (persona_id, id)",
            "CREATE INDEX runs_queue_idx ON runs (status, id)",
            """
            CREATE TABLE run_checkpoints (
              run_id TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE, step INTEGER NOT NULL,
              node TEXT NOT NULL, delta TEXT NOT NULL, meta TEXT NOT NULL, span_id TEXT NOT NULL,
              next_node TEXT NOT NULL, created_at \(t.time) NOT NULL,
              PRIMARY KEY (run_id, step))
            """,
            """
            CREATE TABLE run_events (
              seq \(serial), run_id TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
              type TEXT NOT NULL, data TEXT NOT NULL, created_at \(t.time) NOT NULL)
            """,
            "CREATE INDEX run_events_run_idx ON run_events (run_id, seq)",
        ]
    }
}
