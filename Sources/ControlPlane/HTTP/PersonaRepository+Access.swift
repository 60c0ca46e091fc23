import PersonaKit
import PersonaStorage

extension PersonaRepository {
    /// The persona named by the `{id}` path parameter, if visible to the caller with at least
    /// `minimum` rights. Invisible answers 404; visible but not enough rights answers 403.
    /// - Throws: ``APIError`` 401 without a user, 404, 403.
    func requireVisible(_ context: AppRequestContext, minimum: MemberRole, in database: Database) async throws -> (Persona, MemberRole) {
        let user = try context.requireUser()
        let id = try context.id(what: "Persona")
        guard let (persona, role) = try await database.withConnection({ try await access(personaId: id, user: user, on: $0) })
        else { throw APIError.notFound("Persona") }
        guard role >= minimum else {
            throw APIError.forbidden("This needs the \(minimum.rawValue) role on the persona; you are \(role.rawValue)")
        }
        return (persona, role)
    }
}
