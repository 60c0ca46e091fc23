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
