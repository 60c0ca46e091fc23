import Foundation
import PersonaKit
import SQLKit

/// `agents` access.
package struct AgentRepository: Sendable {
    package func insert(_ agent: Agent, on db: any SQLDatabase) async throws {
        try await db.insert(into: "agents")
            .columns("id", "persona_id", "name", "model", "system_prompt", "temperature", "max_steps", "tools", "tool_selection",
                     "created_by", "created_at", "updated_at")
            .values(SQLBind(agent.id), SQLBind(agent.personaId), SQLBind(agent.name), SQLBind(agent.model),
                    SQLBind(agent.systemPrompt), SQLBind(agent.temperature), SQLBind(agent.maxSteps),
                    SQLBind(try JSONCoding.encodeString(agent.tools)), SQLBind(try JSONCoding.encodeString(agent.toolSelection)),
                    SQLBind(agent.createdBy),
                    SQLBind(agent.createdAt), SQLBind(agent.updatedAt))
            .run()
    }

    package func find(id: String, on db: any SQLDatabase) async throws -> Agent? {
        try await db.select().column("*").from("agents").where("id", .equal, id).first().map(Agent.init(row:))
    }

    package func list(personaId: String, on db: any SQLDatabase) async throws -> [Agent] {
        try await db.select().column("*").from("agents").where("persona_id", .equal, personaId)
            .orderBy("id", .descending).limit(500).all().map(Agent.init(row:))
    }

    package func update(_ agent: Agent, on db: any SQLDatabase) async throws {
        try await db.update("agents")
            .set("name", to: agent.name).set("model", to: agent.model).set("system_prompt", to: agent.systemPrompt)
            .set("temperature", to: agent.temperature).set("max_steps", to: agent.maxSteps)
            .set("tools", to: try JSONCoding.encodeString(agent.tools))
            .set("tool_selection", to: try JSONCoding.encodeString(agent.toolSelection)).set("updated_at", to: agent.updatedAt)
            .where("id", .equal, agent.id).run()
    }

    package func delete(id: String, on db: any SQLDatabase) async throws {
        try await db.delete(from: "agents").where("id", .equal, id).run()
    }

    package init() {

    }
}
