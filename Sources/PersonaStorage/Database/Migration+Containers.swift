extension Database {
    /// Migration 3: persona containers (desired and actual state), the tool catalog the
    /// supervisors report, per-persona tool switches and tool runs. Kept in step with
    /// docs/data-model.md.
    package static let containersSchema = Migration(version: 3, name: "containers") { t in
        [
            "CREATE TABLE platform_state (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
            """
            CREATE TABLE persona_containers (
              persona_id TEXT PRIMARY KEY REFERENCES personas(id) ON DELETE CASCADE,
              desired_state TEXT NOT NULL, state TEXT NOT NULL,
              container_id TEXT, container_name TEXT NOT NULL, image TEXT NOT NULL,
              token_hash TEXT NOT NULL, token_sealed TEXT NOT NULL,
              boot_id TEXT, supervisor_version TEXT, registered_at \(t.time), last_heartbeat_at \(t.time),
              heartbeat TEXT, heartbeat_interval_seconds INTEGER NOT NULL,
              event_sequence \(t.bigint) NOT NULL, exit_code INTEGER, last_error TEXT,
              restart_count INTEGER NOT NULL, restart_after \(t.time),
              started_at \(t.time), stopped_at \(t.time),
              created_at \(t.time) NOT NULL, updated_at \(t.time) NOT NULL)
            """,
            "CREATE UNIQUE INDEX persona_containers_token_idx ON persona_containers (token_hash)",
            "CREATE INDEX persona_containers_container_idx ON persona_containers (container_id)",
            """
            CREATE TABLE tools (
              id TEXT PRIMARY KEY, name TEXT NOT NULL, version TEXT NOT NULL, description TEXT NOT NULL,
              category TEXT NOT NULL, manifest TEXT NOT NULL, builtin \(t.bool) NOT NULL,
              requires_approval \(t.bool) NOT NULL,
              created_at \(t.time) NOT NULL, updated_at \(t.time) NOT NULL,
              UNIQUE (name, version))
            """,
            """
            CREATE TABLE tool_dependencies (
              tool_id TEXT NOT NULL REFERENCES tools(id) ON DELETE CASCADE,
              depends_on_id TEXT NOT NULL REFERENCES tools(id) ON DELETE CASCADE,
              PRIMARY KEY (tool_id, depends_on_id))
            """,
            """
            CREATE TABLE persona_tools (
              persona_id TEXT NOT NULL REFERENCES personas(id) ON DELETE CASCADE,
              tool_id TEXT NOT NULL REFERENCES tools(id) ON DELETE CASCADE,
              enabled \(t.bool) NOT NULL, created_at \(t.time) NOT NULL, updated_at \(t.time) NOT NULL,
              PRIMARY KEY (persona_id, tool_id))
            """,
            """
            CREATE TABLE tool_runs (
              id TEXT PRIMARY KEY, persona_id TEXT NOT NULL REFERENCES personas(id) ON DELETE CASCADE,
              tool_name TEXT NOT NULL, tool_id TEXT REFERENCES tools(id) ON DELETE SET NULL,
              run_id TEXT REFERENCES runs(id) ON DELETE SET NULL, user_id TEXT,
              idempotency_key TEXT NOT NULL, invocation_id TEXT, status TEXT NOT NULL,
              input TEXT NOT NULL, output TEXT, error_code TEXT, exit_code INTEGER, duration_ms INTEGER,
              stderr_tail TEXT, artifacts TEXT, trace_id TEXT NOT NULL,
              created_at \(t.time) NOT NULL, finished_at \(t.time))
            """,
            "CREATE UNIQUE INDEX tool_runs_key_idx ON tool_runs (persona_id, idempotency_key)",
            "CREATE INDEX tool_runs_persona_idx ON tool_runs (persona_id, id)",
            "CREATE INDEX tool_runs_run_idx ON tool_runs (run_id)",
        ]
    }
}
