import PersonaKit
import LLM
import StateGraph

/// The agent loop's state: the conversation, the tool calls waiting to run, the answer.
package struct RunState: GraphState, Equatable {
    package var messages: [Chat.Message] = []
    package var pendingToolCalls: [Chat.ToolCall] = []
    package var output: String?

    package struct Update: Codable, Sendable, Equatable {
        package var messages: [Chat.Message]?
        package var pendingToolCalls: [Chat.ToolCall]?
        package var output: String?
        /// The step's timeline entry; stored beside the delta, not folded into the state.
        package var meta: JSONValue?

        package init(messages: [Chat.Message]? = nil, pendingToolCalls: [Chat.ToolCall]? = nil, output: String? = nil, meta: JSONValue? = nil) {
            self.messages = messages
            self.pendingToolCalls = pendingToolCalls
            self.output = output
            self.meta = meta
        }
    }

    package mutating func reduce(_ update: Update) {
        Reducers.append(&messages, update.messages)
        Reducers.replace(&pendingToolCalls, update.pendingToolCalls)
        if let output = update.output { self.output = output }
    }

    package init(messages: [Chat.Message] = [], pendingToolCalls: [Chat.ToolCall] = [], output: String? = nil) {
        self.messages = messages
        self.pendingToolCalls = pendingToolCalls
        self.output = output
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

