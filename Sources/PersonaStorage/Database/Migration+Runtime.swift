extension Database {
    /// Migration 7: what a persona's container runs (`persona_runtime`): the image (standard or
    /// desktop), which sidecars start at boot, a headed browser, the sidecar idle time. Kept in
    /// step with docs/data-model.md.
    package static let runtimeSchema = Migration(version: 7, name: "persona_runtime") { t in
        [
            """
            CREATE TABLE persona_runtime (
              persona_id TEXT PRIMARY KEY REFERENCES personas(id) ON DELETE CASCADE,
              image TEXT NOT NULL, eager_sidecars TEXT NOT NULL, browser_headed \(t.bool) NOT NULL,
              sidecar_idle_seconds INTEGER NOT NULL, updated_at \(t.time) NOT NULL)
            """,
        ]
    }
}
