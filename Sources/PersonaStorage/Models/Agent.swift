import Foundation
import PersonaKit
import SQLKit

/// An agent (`agents`): model, prompt and the tools it may call, acting for one persona.
public struct Agent: Codable, Sendable, Equatable {
    public var id: String
    public var personaId: String
    public var name: String
    public var model: String
    public var systemPrompt: String?
    public var temperature: Double?
    public var maxSteps: Int
    public var tools: [String]
    /// How the tools are offered to the model at each step.
    public var toolSelection: ToolSelection
    public var createdBy: String?
    public var createdAt: Date
    public var updatedAt: Date

    package init(row: any SQLRow) throws {
        id = try row.decode(column: "id", as: String.self)
        personaId = try row.decode(column: "persona_id", as: String.self)
        name = try row.decode(column: "name", as: String.self)
        model = try row.decode(column: "model", as: String.self)
        systemPrompt = try row.decode(column: "system_prompt", as: String?.self)
        temperature = try row.decode(column: "temperature", as: Double?.self)
        maxSteps = try row.decode(column: "max_steps", as: Int.self)
        tools = (try? JSONCoding.decode([String].self, from: try row.decode(column: "tools", as: String.self))) ?? []
        toolSelection = try row.decode(column: "tool_selection", as: String?.self)
            .flatMap { try? JSONCoding.decode(ToolSelection.self, from: $0) } ?? ToolSelection()
        createdBy = try row.decode(column: "created_by", as: String?.self)
        createdAt = try row.decode(column: "created_at", as: Date.self)
        updatedAt = try row.decode(column: "updated_at", as: Date.self)
    }

    package init(id: String, personaId: String, name: String, model: String, systemPrompt: String?, temperature: Double?,
         maxSteps: Int, tools: [String], toolSelection: ToolSelection = ToolSelection(), createdBy: String?, now: Date) {
        self.id = id
        self.personaId = personaId
        self.name = name
        self.model = model
        self.systemPrompt = systemPrompt
        self.temperature = temperature
        self.maxSteps = maxSteps
        self.tools = tools
        self.toolSelection = toolSelection
        self.createdBy = createdBy
        self.createdAt = now
        self.updatedAt = now
    }
}


/// Which of an agent's tools each LLM step is offered.
public struct ToolSelection: Codable, Sendable, Equatable {
    public enum Mode: String, Codable, Sendable, CaseIterable {
        /// Every tool, every step.
        case all
        /// The `limit` tools that rank best for the conversation so far (plus what they depend
        /// on and the tools the run already used), as langgraph-bigtool does.
        case search
    }

    public var mode: Mode
    /// How many ranked tools a step is offered (search mode).
    public var limit: Int

    public static let maxLimit = 50

    public init(mode: Mode = .all, limit: Int = 5) {
        self.mode = mode
        self.limit = limit
    }
}
