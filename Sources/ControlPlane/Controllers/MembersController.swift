import Foundation
import Hummingbird
import PersonaKit
import PersonaStorage

/// `/api/personas/{id}/members[/{userId}]`.
struct MembersController: Sendable {
    let database: Database
    let users = UserRepository()
    let personas = PersonaRepository()
    let audit = AuditRepository()

    struct AddBody: StrictBody {
        var userId: String?
        var email: String?
        var role: MemberRole
        static let fields: Set<String> = ["userId", "email", "role"]
    }

    func addRoutes(to group: RouterGroup<AppRequestContext>) {
        group.get("{id}/members") { _, context in
            let (persona, _) = try await personas.requireVisible(context, minimum: .viewer, in: database)
            let members = try await database.withConnection {
                try await personas.members(personaId: persona.id, on: $0)
            }
            return try JSONResponse.data(members)
        }
        group.post("{id}/members") { request, context in
            let (persona, _) = try await personas.requireVisible(context, minimum: .owner, in: database)
            let body = try await request.decodeJSON(AddBody.self, limit: 16_384)
            return try await add(body, to: persona, context: context)
        }
        group.delete("{id}/members/{userId}") { _, context in
            let caller = try context.requireUser()
            let userId = try context.id("userId", what: "Member")
            // Anyone may leave a persona; removing someone else needs the owner role.
            let (persona, _) = try await personas.requireVisible(context, minimum: userId == caller.id ? .viewer : .owner, in: database)
            return try await audit.auditedDelete(in: database, 
                what: "Member",
                event: AuditEvent(context, type: "member.removed", category: "member", description: "Member removed from persona",
                                  personaId: persona.id, metadata: ["memberUserId": userId])
            ) { try await personas.removeMember(personaId: persona.id, userId: userId, on: $0) }
        }
    }

    private func add(_ body: AddBody, to persona: Persona, context: AppRequestContext) async throws -> Response {
        guard (body.userId == nil) != (body.email == nil) else {
            throw APIError.validation("Give exactly one of userId or email")
        }
        let target: User? = try await database.withConnection { db in
            if let id = body.userId {
                guard Identifier.isValid(id) else { return nil }
                return try await users.find(id: id.lowercased(), on: db)
            }
            return try await users.find(email: try Validate.email(body.email ?? ""), on: db)
        }
        guard let target, target.isActive else { throw APIError.unprocessable("No active user matches that userId or email") }
        guard target.id != persona.ownerId else { throw APIError.conflict("The persona's owner is already its owner") }
        let isNew = try await database.transaction { tx in
            let isNew = try await personas.upsertMember(personaId: persona.id, userId: target.id, role: body.role,
                                                                  now: Date(), on: tx)
            try await audit.insert(AuditEvent(context, type: isNew ? "member.added" : "member.role_changed",
                                                       category: "member", description: "Persona membership set",
                                                       personaId: persona.id,
                                                       metadata: ["memberUserId": target.id, "role": body.role.rawValue]), on: tx)
            return isNew
        }
        let members = try await database.withConnection { try await personas.members(personaId: persona.id, on: $0) }
        guard let member = members.first(where: { $0.userId == target.id }) else { throw APIError.notFound("Member") }
        return try JSONResponse.data(member, status: isNew ? .created : .ok)
    }
}

