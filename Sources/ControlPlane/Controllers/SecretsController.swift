import Foundation
import Hummingbird
import PersonaKit
import PersonaStorage

/// `/api/personas/{id}/secrets[/{name}]`: write-only values, names and times listed.
struct SecretsController: Sendable {
    let database: Database
    let secretBox: SecretBox
    let personas = PersonaRepository()
    let secrets = SecretRepository()
    let audit = AuditRepository()

    struct PutBody: StrictBody {
        var value: String
        static let fields: Set<String> = ["value"]
    }

    static let maxValueBytes = 65_536

    func addRoutes(to group: RouterGroup<AppRequestContext>) {
        group.get("{id}/secrets") { _, context in
            let (persona, _) = try await personas.requireVisible(context, minimum: .viewer, in: database)
            return try JSONResponse.data(try await database.withConnection {
                try await secrets.list(personaId: persona.id, on: $0)
            })
        }
        group.put("{id}/secrets/{name}") { request, context in
            let (persona, _) = try await personas.requireVisible(context, minimum: .editor, in: database)
            let name = try Self.name(context)
            let body = try await request.decodeJSON(PutBody.self, limit: Self.maxValueBytes * 2)
            guard body.value.utf8.count <= Self.maxValueBytes else {
                throw APIError.tooLarge("A secret value may be at most \(Self.maxValueBytes) bytes")
            }
            let sealed = try secretBox.seal(body.value, personaId: persona.id, name: name)
            let isNew = try await database.transaction { tx in
                let isNew = try await secrets.upsert(personaId: persona.id, name: name, ciphertext: sealed, now: Date(), on: tx)
                try await audit.insert(AuditEvent(context, type: isNew ? "secret.created" : "secret.updated",
                                                           category: "secret", description: "Secret stored",
                                                           personaId: persona.id, metadata: ["name": name]), on: tx)
                return isNew
            }
            let listed = try await database.withConnection { try await secrets.list(personaId: persona.id, on: $0) }
            guard let dto = listed.first(where: { $0.name == name }) else { throw APIError.notFound("Secret") }
            return try JSONResponse.data(dto, status: isNew ? .created : .ok)
        }
        group.delete("{id}/secrets/{name}") { _, context in
            let (persona, _) = try await personas.requireVisible(context, minimum: .editor, in: database)
            let name = try Self.name(context)
            return try await audit.auditedDelete(in: database, 
                what: "Secret",
                event: AuditEvent(context, type: "secret.deleted", category: "secret", description: "Secret deleted",
                                  personaId: persona.id, metadata: ["name": name])
            ) { try await secrets.delete(personaId: persona.id, name: name, on: $0) }
        }
    }

    /// Secret names are environment-variable names, since tools receive them that way.
    static func name(_ context: AppRequestContext) throws -> String {
        let name = context.parameters.get("name") ?? ""
        let valid = (1...128).contains(name.utf8.count)
            && name.utf8.first.map { $0 == 95 || (65...90).contains($0) || (97...122).contains($0) } == true
            && name.utf8.allSatisfy { $0 == 95 || (48...57).contains($0) || (65...90).contains($0) || (97...122).contains($0) }
        guard valid else {
            throw APIError.validation("Secret names are letters, digits and underscores, starting with a letter or underscore")
        }
        return name
    }
}
