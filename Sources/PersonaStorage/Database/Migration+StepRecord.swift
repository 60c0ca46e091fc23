extension Database {
    /// Migration 5: on SQLite, recording a step is one `INSERT` into `run_checkpoints`; this
    /// trigger moves the run's step counter, next node and token totals and appends its
    /// `step_finished` event in the same statement (one implicit transaction, one fsync). On
    /// PostgreSQL the same happens in one statement with data-modifying CTEs
    /// (``RunRepository/recordStep(runId:step:node:delta:meta:spanId:next:tokens:now:on:kind:)``).
    /// Kept in step with docs/data-model.md.
    package static let stepRecordSchema = Migration(version: 5, name: "step_record") { t in
        guard t.kind == .sqlite else { return [] }
        return [
            """
            CREATE TRIGGER run_checkpoints_step AFTER INSERT ON run_checkpoints BEGIN
              UPDATE runs SET step_count = NEW.step, next_node = NEW.next_node, updated_at = NEW.created_at,
                prompt_tokens = prompt_tokens + COALESCE(json_extract(NEW.meta, '$.promptTokens'), 0),
                completion_tokens = completion_tokens + COALESCE(json_extract(NEW.meta, '$.completionTokens'), 0)
              WHERE id = NEW.run_id;
              INSERT INTO run_events (run_id, type, data, created_at)
                VALUES (NEW.run_id, 'step_finished', json_object('step', NEW.step, 'node', NEW.node, 'detail', json(NEW.meta)), NEW.created_at);
            END
            """,
        ]
    }
}
