extension Database {
    /// Migration 8: the installation-wide tool catalog. Each tool version says where it comes
    /// from (`builtin`: compiled into the supervisor; `image`: an executable in a persona
    /// image; `custom`: an uploaded package); dependents are found through an index on the
    /// dependency's id. Kept in step with docs/data-model.md.
    package static let toolRegistrySchema = Migration(version: 8, name: "tool_registry") { t in
        [
            "ALTER TABLE tools ADD COLUMN source TEXT NOT NULL DEFAULT 'image'",
            "UPDATE tools SET source = 'builtin' WHERE builtin = \(t.kind == .postgres ? "TRUE" : "1")",
            "CREATE INDEX tools_category_idx ON tools (category, name)",
            "CREATE INDEX tool_dependencies_target_idx ON tool_dependencies (depends_on_id, tool_id)",
        ]
    }
}

extension Database {
    /// Migration 9: tool search. One embedding per tool version and model, of the text search
    /// compares (name, description, input property names); `text_hash` says which text, so a
    /// manifest whose text changed is embedded again. pgvector on PostgreSQL, float32 blobs on
    /// SQLite. Agents say how their tools are offered (`tool_selection`, JSON; NULL: all).
    package static let toolSearchSchema = Migration(version: 9, name: "tool_search") { t in
        [
            "ALTER TABLE agents ADD COLUMN tool_selection TEXT",
            """
            CREATE TABLE tool_embeddings (
              tool_id TEXT NOT NULL REFERENCES tools(id) ON DELETE CASCADE, model TEXT NOT NULL,
              text_hash TEXT NOT NULL, dimension INTEGER NOT NULL,
              embedding \(t.kind == .postgres ? "vector" : "BLOB") NOT NULL, created_at \(t.time) NOT NULL,
              PRIMARY KEY (tool_id, model))
            """,
        ]
    }
}
