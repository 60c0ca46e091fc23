extension Database {
    /// Migration 15: idle pause and wake on demand. `last_active_at` is the persona's last
    /// activity (a tool call, a run step, a desktop request, a wake; written at most every
    /// `activityWriteSeconds` per persona, never per heartbeat), `paused_at` when the idle sweep
    /// froze the container (`state` `paused`), `idle_stopped_at` when it stopped it for idleness
    /// (`state` `stopped` with `desired_state` still `running`: the next use starts it). Existing
    /// rows count as active at their last update. Kept in step with docs/data-model.md.
    package static let idlePauseSchema = Migration(version: 15, name: "idle_pause") { t in
        [
            "ALTER TABLE persona_containers ADD COLUMN last_active_at \(t.time)",
            "ALTER TABLE persona_containers ADD COLUMN paused_at \(t.time)",
            "ALTER TABLE persona_containers ADD COLUMN idle_stopped_at \(t.time)",
            "UPDATE persona_containers SET last_active_at = updated_at",
        ]
    }
}
