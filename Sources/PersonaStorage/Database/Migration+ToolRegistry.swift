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
