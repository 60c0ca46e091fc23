extension Database {
    /// Migration 16: what lets `GET /api/dashboard` read its windows from indexes alone.
    /// - `llm_calls`: one narrow row per LLM step (model and tokens out of the checkpoint's JSON
    ///   meta, the run's persona), written by a trigger on `run_checkpoints` so every path that
    ///   records a step records it, and filled from the existing checkpoints. Indexed by
    ///   (persona, time) with the model and tokens in the key: a window's usage by model is an
    ///   index-only range per persona instead of a JSON parse per step.
    /// - Migration 14's (persona, created_at) indexes on `runs` and `tool_runs` carry the columns
    ///   the dashboard reads (status and times; tool name and status), so its runs and tool-call
    ///   figures never visit the wide rows.
    /// Kept in step with docs/data-model.md.
    package static let dashboardUsageSchema = Migration(version: 16, name: "llm_calls") { t in
        // The row's values from a checkpoint (`c.` or the trigger's `NEW.`) and its run `r`.
        func values(_ c: String) -> String {
            let meta = c + "meta"
            func tokens(_ key: String) -> String {
                t.kind == .postgres ? "COALESCE((\(meta)::json->>'\(key)')::numeric, 0)::bigint"
                    : "CAST(COALESCE(json_extract(\(meta), '$.\(key)'), 0) AS INTEGER)"
            }
            let model = t.kind == .postgres ? "COALESCE(\(meta)::json->>'model', '')" : "COALESCE(json_extract(\(meta), '$.model'), '')"
            return "\(c)run_id, \(c)step, r.persona_id, \(model), \(tokens("promptTokens")), \(tokens("completionTokens")), \(c)created_at"
        }
        let insert = "INSERT INTO llm_calls (run_id, step, persona_id, model, prompt_tokens, completion_tokens, created_at)"
        var statements = [
            """
            CREATE TABLE llm_calls (
              run_id TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE, step INTEGER NOT NULL,
              persona_id TEXT NOT NULL REFERENCES personas(id) ON DELETE CASCADE,
              model TEXT NOT NULL, prompt_tokens \(t.bigint) NOT NULL, completion_tokens \(t.bigint) NOT NULL,
              created_at \(t.time) NOT NULL,
              PRIMARY KEY (run_id, step))
            """,
            "CREATE INDEX llm_calls_persona_created_idx ON llm_calls (persona_id, created_at, model, prompt_tokens, completion_tokens)",
            "\(insert) SELECT \(values("c.")) FROM run_checkpoints c JOIN runs r ON r.id = c.run_id WHERE c.node = 'llm'",
            "DROP INDEX runs_persona_created_idx",
            "CREATE INDEX runs_persona_created_idx ON runs (persona_id, created_at, status, started_at, completed_at)",
            "DROP INDEX tool_runs_persona_created_idx",
            "CREATE INDEX tool_runs_persona_created_idx ON tool_runs (persona_id, created_at, tool_name, status)",
        ]
        if t.kind == .postgres {
            statements += [
                """
                CREATE FUNCTION run_checkpoint_llm_call() RETURNS trigger AS $$
                BEGIN
                  \(insert) SELECT \(values("NEW.")) FROM runs r WHERE r.id = NEW.run_id;
                  RETURN NULL;
                END $$ LANGUAGE plpgsql
                """,
                """
                CREATE TRIGGER run_checkpoints_llm_call AFTER INSERT ON run_checkpoints
                FOR EACH ROW WHEN (NEW.node = 'llm') EXECUTE FUNCTION run_checkpoint_llm_call()
                """,
            ]
        } else {
            statements.append("""
                CREATE TRIGGER run_checkpoints_llm_call AFTER INSERT ON run_checkpoints WHEN NEW.node = 'llm'
                BEGIN
                  \(insert) SELECT \(values("NEW.")) FROM runs r WHERE r.id = NEW.run_id;
                END
                """)
        }
        return statements
    }
}
