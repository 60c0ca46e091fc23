import Foundation
import Hummingbird
import PersonaKit
import PersonaStorage
import Memory
import Containers

/// `/api/personas[/{id}]`: persona CRUD with the visibility rule (404 when not visible).
struct PersonasController: Sendable {
    let configuration: AppConfiguration
    let database: Database
    let containers: ContainerManager
    let memory: MemoryService
    let personas = PersonaRepository()
    let audit = AuditRepository()
    let settings = SettingsRepository()

    struct CreateBody: StrictBody {
        var name: String
        var description: String?
        var systemPrompt: String?
        var theme: JSONValue?
        static let fields: Set<String> = ["name", "description", "systemPrompt", "theme"]
    }

    struct UpdateBody: StrictBody {
        var name: String?
        var description: Patch<String>
        var systemPrompt: Patch<String>
        var theme: Patch<JSONValue>
        var isActive: Bool?
        static let fields: Set<String> = ["name", "description", "systemPrompt", "theme", "isActive"]
    }

    func addRoutes(to group: RouterGroup<AppRequestContext>) {
        group.post { request, context in
            let body = try await request.decodeJSON(CreateBody.self, limit: configuration.maxJSONBodySize)
            return try JSONResponse.data(try await create(body, context: context), status: .created)
        }
        group.get { request, context in
            let user = try context.requireUser()
            let page = try Page(request: request)
            let (writer, next) = try await personas.listPage(
                user: user, cursor: page.cursor, limit: page.limit, into: JSONResponse.pageStart(capacity: 512 * (page.limit + 1)),
                in: database)
            return JSONResponse.page(writer, nextCursor: next)
        }
        group.get("{id}") { _, context in
            let (persona, role) = try await personas.requireVisible(context, minimum: .viewer, in: database)
            return try JSONResponse.data(persona.dto(role: role))
        }
        group.patch("{id}") { request, context in
            let body = try await request.decodeJSON(UpdateBody.self, limit: configuration.maxJSONBodySize)
            return try JSONResponse.data(try await update(body, context: context))
        }
        group.delete("{id}") { _, context in
            let (persona, _) = try await personas.requireVisible(context, minimum: .owner, in: database)
            try await database.transaction { tx in
                try await personas.delete(id: persona.id, on: tx)
                try await audit.insert(AuditEvent(context, type: "persona.deleted", category: "persona",
                                                           description: "Persona deleted", personaId: persona.id,
                                                           metadata: ["name": persona.name]), on: tx)
            }
            // The container and its directories go with it (the reconciler finishes the job
            // if the engine is unreachable now).
            await containers.removeAll(personaId: persona.id)
            // Its vectors leave the SQLite backend's in-memory index too.
            await memory.index.forget(personaId: persona.id)
            return JSONResponse.noContent()
        }
    }

    private func create(_ body: CreateBody, context: AppRequestContext) async throws -> PersonaDTO {
        let user = try context.requireUser()
        let name = try Validate.text(body.name, field: "name", max: 100)
        let description = try Validate.optionalText(body.description, field: "description", max: 2000)
        let prompt = try Validate.optionalText(body.systemPrompt, field: "systemPrompt", max: 32_000)
        try Self.validateTheme(body.theme)
        let settings = try await settings.load(in: database)
        if user.role != .admin, !settings.allowUserPersonaCreation {
            throw APIError.forbidden("Persona creation is turned off for users by an administrator")
        }
        let persona = Persona(id: Identifier.make(), ownerId: user.id, name: name, description: description,
                              systemPrompt: prompt, theme: body.theme, now: Date())
        try await database.transaction { tx in
            if user.role != .admin, try await personas.countOwned(by: user.id, on: tx) >= settings.maxPersonasPerUser {
                throw APIError.unprocessable("You already own the maximum of \(settings.maxPersonasPerUser) personas")
            }
            try await personas.insert(persona, on: tx)
            try await audit.insert(AuditEvent(context, type: "persona.created", category: "persona",
                                                       description: "Persona created", personaId: persona.id,
                                                       metadata: ["name": name]), on: tx)
        }
        return persona.dto(role: .owner)
    }

    private func update(_ body: UpdateBody, context: AppRequestContext) async throws -> PersonaDTO {
        var (persona, role) = try await personas.requireVisible(context, minimum: .editor, in: database)
        var changed: [String] = []
        if let name = body.name { persona.name = try Validate.text(name, field: "name", max: 100); changed.append("name") }
        if case .unchanged = body.description {} else {
            persona.description = try Validate.optionalText(body.description.apply(to: persona.description), field: "description", max: 2000)
            changed.append("description")
        }
        if case .unchanged = body.systemPrompt {} else {
            persona.systemPrompt = try Validate.optionalText(body.systemPrompt.apply(to: persona.systemPrompt), field: "systemPrompt", max: 32_000)
            changed.append("systemPrompt")
        }
        if case .unchanged = body.theme {} else {
            persona.theme = body.theme.apply(to: persona.theme)
            try Self.validateTheme(persona.theme)
            changed.append("theme")
        }
        if let active = body.isActive { persona.isActive = active; changed.append("isActive") }
        guard !changed.isEmpty else { throw APIError.validation("Nothing to change") }
        persona.updatedAt = Date()
        let final = persona
        let fields = changed
        try await database.transaction { tx in
            try await personas.update(final, on: tx)
            try await audit.insert(AuditEvent(context, type: "persona.updated", category: "persona",
                                                       description: "Persona updated", personaId: final.id,
                                                       metadata: ["fields": fields]), on: tx)
        }
        return final.dto(role: role)
    }

    static func validateTheme(_ theme: JSONValue?) throws {
        guard let theme, !theme.isNull else { return }
        guard case .object = theme else { throw APIError.validation("theme must be a JSON object") }
        guard let encoded = try? JSONCoding.encodeString(theme), encoded.utf8.count <= 8192 else {
            throw APIError.validation("theme must be at most 8 KiB of JSON")
        }
    }
}
