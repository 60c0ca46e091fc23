import Foundation
import PersonaKit
import SQLKit

/// `settings` access: one row per key, JSON values.
package struct SettingsRepository: Sendable {
    package func all(on db: any SQLDatabase) async throws -> [String: JSONValue] {
        var out: [String: JSONValue] = [:]
        for row in try await db.select().columns("key", "value").from("settings").all() {
            let key = try row.decode(column: "key", as: String.self)
            out[key] = try? JSONCoding.decode(JSONValue.self, from: try row.decode(column: "value", as: String.self))
        }
        return out
    }

    package func set(_ key: String, to value: JSONValue, by userId: String?, now: Date, on db: any SQLDatabase) async throws {
        let text = try JSONCoding.encodeString(value)
        let updated = try await db.update("settings").set("value", to: text).set("updated_at", to: now)
            .set("updated_by", to: userId).where("key", .equal, key).returning("key").first()
        if updated == nil {
            try await db.insert(into: "settings").columns("key", "value", "updated_at", "updated_by")
                .values(SQLBind(key), SQLBind(text), SQLBind(now), SQLBind(userId)).run()
        }
    }

    /// The platform settings: the stored values over the defaults.
    package func load(in database: Database) async throws -> PlatformSettings {
        PlatformSettings(stored: try await database.withConnection { try await all(on: $0) })
    }

    package init() {

    }
}
