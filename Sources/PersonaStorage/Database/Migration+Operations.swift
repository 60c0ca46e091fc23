extension Database {
    /// Migration 10: every foreign key leads an index (deleting an agent, a tool version or a
    /// persona's tool no longer scans `runs`, `tool_runs` or `persona_tools`), and every audit
    /// row carries a trace id: rows written outside a request before this had none and get a
    /// fresh random one (32 hex, like every trace id). Kept in step with docs/data-model.md.
    package static let operationsIndexesSchema = Migration(version: 10, name: "foreign_key_indexes") { t in
        [
            "CREATE INDEX runs_agent_idx ON runs (agent_id)",
            "CREATE INDEX tool_runs_tool_idx ON tool_runs (tool_id)",
            "CREATE INDEX persona_tools_tool_idx ON persona_tools (tool_id)",
            t.kind == .postgres
                ? "UPDATE audit_events SET trace_id = md5(random()::text || id) WHERE trace_id IS NULL"
                : "UPDATE audit_events SET trace_id = lower(hex(randomblob(16))) WHERE trace_id IS NULL",
        ]
    }
}

extension Database {
    /// Migration 11: the health monitor's samples, one row per running persona container and
    /// interval (`resolution_seconds` 30 by default; rows older than a day are merged into
    /// 5-minute rows). The primary key serves a persona's time range; `sampled_at` alone serves
    /// the downsampling and retention sweeps. Two indexes keep the monitor's per-interval
    /// queries bounded: open tool runs (a partial index) and LLM steps by time.
    package static let healthMetricsSchema = Migration(version: 11, name: "health_metrics") { t in
        [
            """
            CREATE TABLE persona_health_metrics (
              persona_id TEXT NOT NULL REFERENCES personas(id) ON DELETE CASCADE,
              sampled_at \(t.time) NOT NULL, resolution_seconds INTEGER NOT NULL, container_id TEXT,
              cpu_percent \(t.real), memory_mb \(t.real), memory_percent \(t.real), pids INTEGER,
              net_rx_bytes \(t.bigint), net_tx_bytes \(t.bigint), block_read_bytes \(t.bigint), block_write_bytes \(t.bigint),
              workspace_bytes \(t.bigint),
              llm_calls INTEGER NOT NULL, llm_tokens \(t.bigint) NOT NULL, active_runs INTEGER NOT NULL,
              open_tool_runs INTEGER NOT NULL,
              PRIMARY KEY (persona_id, sampled_at))
            """,
            "CREATE INDEX persona_health_metrics_time_idx ON persona_health_metrics (sampled_at)",
            "CREATE INDEX tool_runs_open_idx ON tool_runs (persona_id) WHERE status = 'running'",
            "CREATE INDEX run_checkpoints_created_idx ON run_checkpoints (created_at)",
        ]
    }
}

extension Database {
    /// Migration 12: alerts raised from the health samples and the containers' state. At most
    /// one open alert per persona and kind (a partial unique index: a condition that persists
    /// does not open a second one).
    package static let alertsSchema = Migration(version: 12, name: "persona_alerts") { t in
        [
            """
            CREATE TABLE persona_alerts (
              id TEXT PRIMARY KEY, persona_id TEXT NOT NULL REFERENCES personas(id) ON DELETE CASCADE,
              kind TEXT NOT NULL, status TEXT NOT NULL, message TEXT NOT NULL, value \(t.real), threshold \(t.real),
              opened_at \(t.time) NOT NULL, resolved_at \(t.time))
            """,
            "CREATE UNIQUE INDEX persona_alerts_open_idx ON persona_alerts (persona_id, kind) WHERE status = 'open'",
            "CREATE INDEX persona_alerts_persona_idx ON persona_alerts (persona_id, opened_at)",
        ]
    }
}
