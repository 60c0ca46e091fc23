import Foundation
import Hummingbird
import PersonaKit
import PersonaStorage

/// `/api/personas/{id}/agents` and `/api/agents/{id}`: viewers read, editors change.
struct AgentsController: Sendable {
    let configuration: AppConfiguration
    let database: Database
    let personas = PersonaRepository()
    let audit = AuditRepository()
    let agents = AgentRepository()

    struct CreateBody: StrictBody {
        var name: String
        var model: String
        var systemPrompt: String?
        var temperature: Double?
        var maxSteps: Int?
        var tools: [String]?
        var toolSelection: SelectionBody?
        static let fields: Set<String> = ["name", "model", "systemPrompt", "temperature", "maxSteps", "tools", "toolSelection"]
    }

    struct SelectionBody: Decodable, Sendable {
        var mode: String
        var limit: Int?
    }

    struct UpdateBody: StrictBody {
        var name: String?
        var model: String?
        var systemPrompt: Patch<String>
        var temperature: Patch<Double>
        var maxSteps: Int?
        var tools: [String]?
        var toolSelection: SelectionBody?
        static let fields: Set<String> = ["name", "model", "systemPrompt", "temperature", "maxSteps", "tools", "toolSelection"]
    }

    func addRoutes(personas: RouterGroup<AppRequestContext>, agents: RouterGroup<AppRequestContext>) {
        personas.get("{id}/agents") { _, context in
            let (persona, _) = try await self.personas.requireVisible(context, minimum: .viewer, in: database)
            return try JSONResponse.data(try await database.withConnection { try await self.agents.list(personaId: persona.id, on: $0) })
        }
        personas.post("{id}/agents") { request, context in
            let (persona, _) = try await self.personas.requireVisible(context, minimum: .editor, in: database)
            let body = try await request.decodeJSON(CreateBody.self, limit: configuration.maxJSONBodySize)
            let agent = Agent(id: Identifier.make(), personaId: persona.id, name: try Validate.text(body.name, field: "name", max: 100),
                              model: try Self.model(body.model), systemPrompt: try Validate.optionalText(body.systemPrompt, field: "systemPrompt", max: 32_000),
                              temperature: try Self.temperature(body.temperature), maxSteps: try Self.maxSteps(body.maxSteps ?? 25),
                              tools: try Self.tools(body.tools ?? []),
                              toolSelection: try body.toolSelection.map(Self.selection) ?? ToolSelection(),
                              createdBy: context.identity?.id, now: Date())
            try await database.transaction { tx in
                try await self.agents.insert(agent, on: tx)
                try await audit.insert(AuditEvent(context, type: "agent.created", category: "agent", description: "Agent created",
                                                           personaId: persona.id, metadata: ["agentId": agent.id, "name": agent.name]), on: tx)
            }
            return try JSONResponse.data(agent, status: .created)
        }
        agents.get("{id}") { _, context in
            try JSONResponse.data(try await load(context, minimum: .viewer))
        }
        agents.patch("{id}") { request, context in
            var agent = try await load(context, minimum: .editor)
            let body = try await request.decodeJSON(UpdateBody.self, limit: configuration.maxJSONBodySize)
            if let name = body.name { agent.name = try Validate.text(name, field: "name", max: 100) }
            if let model = body.model { agent.model = try Self.model(model) }
            agent.systemPrompt = try Validate.optionalText(body.systemPrompt.apply(to: agent.systemPrompt), field: "systemPrompt", max: 32_000)
            agent.temperature = try Self.temperature(body.temperature.apply(to: agent.temperature))
            if let steps = body.maxSteps { agent.maxSteps = try Self.maxSteps(steps) }
            if let tools = body.tools { agent.tools = try Self.tools(tools) }
            if let selection = body.toolSelection { agent.toolSelection = try Self.selection(selection) }
            agent.updatedAt = Date()
            let final = agent
            try await database.transaction { tx in
                try await self.agents.update(final, on: tx)
                try await audit.insert(AuditEvent(context, type: "agent.updated", category: "agent", description: "Agent updated",
                                                           personaId: final.personaId, metadata: ["agentId": final.id]), on: tx)
            }
            return try JSONResponse.data(final)
        }
        agents.delete("{id}") { _, context in
            let agent = try await load(context, minimum: .editor)
            try await database.transaction { tx in
                try await self.agents.delete(id: agent.id, on: tx)
                try await audit.insert(AuditEvent(context, type: "agent.deleted", category: "agent", description: "Agent deleted",
                                                           personaId: agent.personaId, metadata: ["agentId": agent.id]), on: tx)
            }
            return JSONResponse.noContent()
        }
    }

    /// The agent named by `{id}`, if its persona is visible with at least `minimum` rights.
    private func load(_ context: AppRequestContext, minimum: MemberRole) async throws -> Agent {
        let user = try context.requireUser()
        let id = try context.id(what: "Agent")
        guard let agent = try await database.withConnection({ try await self.agents.find(id: id, on: $0) }),
              let (_, role) = try await database.withConnection({ try await personas.access(personaId: agent.personaId, user: user, on: $0) })
        else { throw APIError.notFound("Agent") }
        guard role >= minimum else { throw APIError.forbidden("This needs the \(minimum.rawValue) role on the agent's persona") }
        return agent
    }

    static func model(_ value: String) throws -> String {
        let model = try Validate.text(value, field: "model", max: 200)
        guard !model.contains(where: { $0.isWhitespace }) else { throw APIError.validation("model must not contain spaces") }
        return model
    }

    static func temperature(_ value: Double?) throws -> Double? {
        guard let value else { return nil }
        guard (0...2).contains(value) else { throw APIError.validation("temperature must be from 0 to 2") }
        return value
    }

    static func maxSteps(_ value: Int) throws -> Int {
        guard (1...200).contains(value) else { throw APIError.validation("maxSteps must be from 1 to 200") }
        return value
    }

    static func selection(_ body: SelectionBody) throws -> ToolSelection {
        guard let mode = ToolSelection.Mode(rawValue: body.mode) else {
            throw APIError.validation("toolSelection.mode must be all or search")
        }
        let limit = body.limit ?? ToolSelection().limit
        guard (1...ToolSelection.maxLimit).contains(limit) else {
            throw APIError.validation("toolSelection.limit must be from 1 to \(ToolSelection.maxLimit)")
        }
        return ToolSelection(mode: mode, limit: limit)
    }

    /// Tool names as manifests spell them; checked against the persona's catalog when a run
    /// starts. With `toolSelection.mode` `search`, an empty list means every tool the persona
    /// has switched on.
    static func tools(_ names: [String]) throws -> [String] {
        guard names.count <= 500 else { throw APIError.validation("an agent may have at most 500 tools") }
        for name in names where name.isEmpty || name.count > 64
            || !name.unicodeScalars.allSatisfy({ ("a"..."z").contains($0) || ("0"..."9").contains($0) || $0 == "_" || $0 == "-" }) {
            throw APIError.validation("tool name '\(name)' must be lower-case letters, digits, '_' or '-'")
        }
        guard Set(names).count == names.count else { throw APIError.validation("tools must not repeat") }
        return names
    }
}
