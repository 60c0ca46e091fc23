import Foundation
import PersonaKit
import SQLKit

/// `persona_secrets` access. Only ciphertext is stored; values are sealed by ``SecretBox``.
package struct SecretRepository: Sendable {
    /// Inserts or replaces a secret; returns whether it is new.
    package func upsert(personaId: String, name: String, ciphertext: String, now: Date, on db: any SQLDatabase) async throws -> Bool {
        let updated = try await db.update("persona_secrets").set("ciphertext", to: ciphertext).set("updated_at", to: now)
            .where("persona_id", .equal, personaId).where("name", .equal, name).returning("id").first()
        if updated != nil { return false }
        try await db.insert(into: "persona_secrets")
            .columns("id", "persona_id", "name", "ciphertext", "created_at", "updated_at")
            .values(SQLBind(Identifier.make()), SQLBind(personaId), SQLBind(name), SQLBind(ciphertext), SQLBind(now), SQLBind(now))
            .run()
        return true
    }

    package func list(personaId: String, on db: any SQLDatabase) async throws -> [SecretDTO] {
        try await db.select().columns("name", "created_at", "updated_at").from("persona_secrets")
            .where("persona_id", .equal, personaId).orderBy("name").all()
            .map { SecretDTO(name: try $0.decode(column: "name", as: String.self),
                             createdAt: try $0.decode(column: "created_at", as: Date.self),
                             updatedAt: try $0.decode(column: "updated_at", as: Date.self)) }
    }

    /// The sealed value of one secret, for the server's own use (never for a response).
    package func ciphertext(personaId: String, name: String, on db: any SQLDatabase) async throws -> String? {
        try await db.select().column("ciphertext").from("persona_secrets")
            .where("persona_id", .equal, personaId).where("name", .equal, name).first()?
            .decode(column: "ciphertext", as: String.self)
    }

    /// Every sealed value of a persona, by name, for the server's own use (its supervisor).
    package func sealedValues(personaId: String, on db: any SQLDatabase) async throws -> [(name: String, ciphertext: String)] {
        try await db.select().columns("name", "ciphertext").from("persona_secrets").where("persona_id", .equal, personaId)
            .orderBy("name").all()
            .map { (try $0.decode(column: "name", as: String.self), try $0.decode(column: "ciphertext", as: String.self)) }
    }

    package func delete(personaId: String, name: String, on db: any SQLDatabase) async throws -> Bool {
        try await db.delete(from: "persona_secrets").where("persona_id", .equal, personaId)
            .where("name", .equal, name).returning("id").first() != nil
    }

    package init() {

    }
}
