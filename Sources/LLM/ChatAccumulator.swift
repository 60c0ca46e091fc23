/// Folds streamed chunks into the final assistant message: content concatenated, tool calls
/// assembled from their indexed fragments, usage and finish reason kept.
public struct ChatAccumulator: Sendable {
    public private(set) var content = ""
    public private(set) var finishReason: String?
    public private(set) var usage: Chat.Usage?
    public private(set) var model: String?
    private var calls: [Int: (id: String, name: String, arguments: String)] = [:]

    public init() {}

    /// Adds one chunk; returns the content text it carried (for live token events).
    @discardableResult
    public mutating func add(_ chunk: Chat.Chunk) -> String {
        if let usage = chunk.usage { self.usage = usage }
        if let model = chunk.model { self.model = model }
        var text = ""
        for choice in chunk.choices where (choice.index ?? 0) == 0 {
            if let piece = choice.delta.content {
                content += piece
                text += piece
            }
            for call in choice.delta.toolCalls ?? [] {
                var entry = calls[call.index] ?? ("", "", "")
                if let id = call.id { entry.id = id }
                if let name = call.function?.name { entry.name += name }
                if let arguments = call.function?.arguments { entry.arguments += arguments }
                calls[call.index] = entry
            }
            if let reason = choice.finishReason { finishReason = reason }
        }
        return text
    }

    /// The assistant message the chunks add up to.
    public var message: Chat.Message {
        let toolCalls = calls.sorted { $0.key < $1.key }.map { Chat.ToolCall(id: $0.value.id, name: $0.value.name, arguments: $0.value.arguments) }
        return Chat.Message(role: "assistant", content: content.isEmpty && !toolCalls.isEmpty ? nil : content,
                            toolCalls: toolCalls.isEmpty ? nil : toolCalls)
    }
}

/// Splits a byte stream of Server-Sent Events into the `data` payloads of its events.
/// Handles `\n` and `\r\n` line ends, multi-line data, comments and events split across reads.
public struct SSEParser: Sendable {
    private var buffer: [UInt8] = []
    private var data: [String] = []

    public init() {}

    /// Feeds bytes; returns the data of every event completed by them.
    public mutating func feed(_ bytes: some Sequence<UInt8>) -> [String] {
        buffer.append(contentsOf: bytes)
        var events: [String] = []
        var start = 0
        var index = 0
        while index < buffer.count {
            if buffer[index] == 10 {
                var end = index
                if end > start, buffer[end - 1] == 13 { end -= 1 }
                let line = String(decoding: buffer[start..<end], as: UTF8.self)
                if line.isEmpty {
                    if !data.isEmpty { events.append(data.joined(separator: "\n")) }
                    data.removeAll()
                } else if line.hasPrefix("data:") {
                    var value = line.dropFirst(5)
                    if value.first == " " { value = value.dropFirst() }
                    data.append(String(value))
                }
                start = index + 1
            }
            index += 1
        }
        buffer.removeFirst(start)
        return events
    }
}
