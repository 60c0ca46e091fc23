import PersonaKit
import LLM
import StateGraph

/// The agent loop's state: the conversation, the tool calls waiting to run, the answer.
struct RunState: GraphState, Equatable {
    var messages: [Chat.Message] = []
    var pendingToolCalls: [Chat.ToolCall] = []
    var output: String?

    struct Update: Codable, Sendable, Equatable {
        var messages: [Chat.Message]?
        var pendingToolCalls: [Chat.ToolCall]?
        var output: String?
        /// The step's timeline entry; stored beside the delta, not folded into the state.
        var meta: JSONValue?
    }

    mutating func reduce(_ update: Update) {
        Reducers.append(&messages, update.messages)
        Reducers.replace(&pendingToolCalls, update.pendingToolCalls)
        if let output = update.output { self.output = output }
    }
}

/// The result of one tool call as the model sees it.
public struct ToolCallResult: Sendable {
    public var status: String
    public var output: JSONValue
    public var durationMs: Int

    public init(status: String, output: JSONValue, durationMs: Int) {
        self.status = status
        self.output = output
        self.durationMs = durationMs
    }
}

/// Runs a tool for a persona: the seam to the persona's supervisor (a real HTTP boundary).
/// `idempotencyKey` (run, step, call) makes a resumed run get the journaled result instead of
/// running the tool again.
public protocol ToolInvoker: Sendable {
    func invoke(personaId: String, runId: String, tool: String, arguments: JSONValue, idempotencyKey: String,
                trace: TraceContext) async throws -> ToolCallResult
}

