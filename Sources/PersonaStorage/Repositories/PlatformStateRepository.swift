import SQLKit

/// `platform_state`: small installation-wide values by key (the instance id, the alert
/// webhook's delivery cursor).
package struct PlatformStateRepository: Sendable {
    package init() {}

    package func get(_ key: String, on db: any SQLDatabase) async throws -> String? {
        try await db.select().column("value").from("platform_state").where("key", .equal, key).first()?
            .decode(column: "value", as: String.self)
    }

    /// Sets `key` (insert or replace).
    package func set(_ key: String, to value: String, on db: any SQLDatabase) async throws {
        try await db.raw("""
            INSERT INTO platform_state (key, value) VALUES (\(bind: key), \(bind: value))
            ON CONFLICT (key) DO UPDATE SET value = excluded.value
            """).run()
    }
}
