import PersonaKit

/// OpenAI-compatible chat completion wire types (`/v1/chat/completions`), as LiteLLM speaks them.
public enum Chat {
    public struct Message: Codable, Sendable, Equatable {
        public var role: String
        public var content: String?
        public var toolCalls: [ToolCall]?
        public var toolCallId: String?
        public var name: String?

        public init(role: String, content: String?, toolCalls: [ToolCall]? = nil, toolCallId: String? = nil, name: String? = nil) {
            self.role = role
            self.content = content
            self.toolCalls = toolCalls
            self.toolCallId = toolCallId
            self.name = name
        }

        public static func system(_ text: String) -> Message { Message(role: "system", content: text) }
        public static func user(_ text: String) -> Message { Message(role: "user", content: text) }
        public static func tool(callId: String, content: String) -> Message { Message(role: "tool", content: content, toolCallId: callId) }

        enum CodingKeys: String, CodingKey {
            case role, content, name
            case toolCalls = "tool_calls", toolCallId = "tool_call_id"
        }
    }

    public struct ToolCall: Codable, Sendable, Equatable {
        public var id: String
        public var type: String = "function"
        public var function: FunctionCall

        public init(id: String, name: String, arguments: String) {
            self.id = id
            self.function = FunctionCall(name: name, arguments: arguments)
        }
    }

    public struct FunctionCall: Codable, Sendable, Equatable {
        public var name: String
        /// JSON text, as the model wrote it (it may be malformed).
        public var arguments: String
    }

    /// A tool the model may call: name, description and the JSON Schema of its arguments.
    public struct Tool: Codable, Sendable, Equatable {
        public var type: String = "function"
        public var function: FunctionSpec

        public init(name: String, description: String, parameters: JSONValue) {
            self.function = FunctionSpec(name: name, description: description, parameters: parameters)
        }
    }

    public struct FunctionSpec: Codable, Sendable, Equatable {
        public var name: String
        public var description: String
        public var parameters: JSONValue
    }

    public struct Request: Codable, Sendable {
        public var model: String
        public var messages: [Message]
        public var tools: [Tool]?
        public var temperature: Double?
        public var maxTokens: Int?
        public var stream: Bool?
        public var streamOptions: StreamOptions?

        public init(model: String, messages: [Message], tools: [Tool]? = nil, temperature: Double? = nil, maxTokens: Int? = nil) {
            self.model = model
            self.messages = messages
            self.tools = tools?.isEmpty == true ? nil : tools
            self.temperature = temperature
            self.maxTokens = maxTokens
        }

        enum CodingKeys: String, CodingKey {
            case model, messages, tools, temperature, stream
            case maxTokens = "max_tokens", streamOptions = "stream_options"
        }
    }

    public struct StreamOptions: Codable, Sendable {
        public var includeUsage: Bool
        enum CodingKeys: String, CodingKey { case includeUsage = "include_usage" }
    }

    public struct Usage: Codable, Sendable, Equatable {
        public var promptTokens: Int
        public var completionTokens: Int
        public var totalTokens: Int?

        public init(promptTokens: Int, completionTokens: Int) {
            self.promptTokens = promptTokens
            self.completionTokens = completionTokens
            self.totalTokens = promptTokens + completionTokens
        }

        enum CodingKeys: String, CodingKey {
            case promptTokens = "prompt_tokens", completionTokens = "completion_tokens", totalTokens = "total_tokens"
        }
    }

    /// A whole (non-streamed) answer.
    public struct Completion: Codable, Sendable, Equatable {
        public var id: String?
        public var model: String?
        public var choices: [Choice]
        public var usage: Usage?

        public struct Choice: Codable, Sendable, Equatable {
            public var index: Int?
            public var message: Message
            public var finishReason: String?
            enum CodingKeys: String, CodingKey { case index, message, finishReason = "finish_reason" }
        }
    }

    /// One streamed chunk (`chat.completion.chunk`).
    public struct Chunk: Codable, Sendable {
        public var id: String?
        public var model: String?
        public var choices: [ChunkChoice]
        public var usage: Usage?

        public struct ChunkChoice: Codable, Sendable {
            public var index: Int?
            public var delta: Delta
            public var finishReason: String?
            enum CodingKeys: String, CodingKey { case index, delta, finishReason = "finish_reason" }
        }

        public struct Delta: Codable, Sendable {
            public var role: String?
            public var content: String?
            public var toolCalls: [ToolCallDelta]?
            enum CodingKeys: String, CodingKey { case role, content, toolCalls = "tool_calls" }
        }

        public struct ToolCallDelta: Codable, Sendable {
            public var index: Int
            public var id: String?
            public var type: String?
            public var function: FunctionDelta?
        }

        public struct FunctionDelta: Codable, Sendable {
            public var name: String?
            public var arguments: String?
        }
    }
}
