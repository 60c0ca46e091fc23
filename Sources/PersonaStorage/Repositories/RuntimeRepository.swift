import Crypto
import Foundation
import PersonaKit
import SQLKit

/// `persona_runtime` access.
package struct RuntimeRepository: Sendable {
    package func find(personaId: String, on db: any SQLDatabase) async throws -> PersonaRuntime {
        try await db.select().columns("image", "eager_sidecars", "browser_headed", "sidecar_idle_seconds", "updated_at").from("persona_runtime")
            .where("persona_id", .equal, personaId).first().map(PersonaRuntime.init(row:)) ?? .default
    }

    package func save(personaId: String, _ runtime: PersonaRuntime, now: Date, on db: any SQLDatabase) async throws {
        let eager = try JSONCoding.encodeString(runtime.eagerSidecars)
        let updated = try await db.update("persona_runtime").set("image", to: runtime.image.rawValue).set("eager_sidecars", to: eager)
            .set("browser_headed", to: runtime.browserHeaded).set("sidecar_idle_seconds", to: runtime.sidecarIdleSeconds)
            .set("updated_at", to: now).where("persona_id", .equal, personaId).returning("persona_id").first()
        guard updated == nil else { return }
        try await db.insert(into: "persona_runtime")
            .columns("persona_id", "image", "eager_sidecars", "browser_headed", "sidecar_idle_seconds", "updated_at")
            .values(SQLBind(personaId), SQLBind(runtime.image.rawValue), SQLBind(eager), SQLBind(runtime.browserHeaded),
                    SQLBind(runtime.sidecarIdleSeconds), SQLBind(now))
            .run()
    }

    package init() {

    }
}
