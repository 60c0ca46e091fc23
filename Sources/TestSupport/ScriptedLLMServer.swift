import ControlPlane
import Foundation
import Hummingbird
import Logging
import NIOCore
import PersonaKit
import ServiceLifecycle

/// One scripted answer of the fake OpenAI-compatible server.
public enum ScriptedReply: Sendable {
    /// A streamed assistant message, cut into `pieces` content deltas.
    case text(String, pieces: Int = 3, usage: Chat.Usage = .init(promptTokens: 12, completionTokens: 7))
    /// Streamed tool calls, each call's arguments cut into fragments as real models do.
    case toolCalls([Chat.ToolCall], usage: Chat.Usage = .init(promptTokens: 20, completionTokens: 9))
    /// An HTTP error (429, 500, 400 ...), optionally with `Retry-After` seconds.
    case status(Int, retryAfter: Int? = nil)
    /// A stream whose second chunk is not JSON.
    case malformedChunk
    /// Waits this long before answering the next reply in the script (for time-outs).
    case stall(Duration, then: Box)
    /// Starts streaming and closes the connection without `[DONE]`.
    case dropMidStream(String)

    /// Indirection so `stall` can wrap another reply.
    public final class Box: Sendable {
        public let reply: ScriptedReply
        public init(_ reply: ScriptedReply) { self.reply = reply }
    }
}

/// A real HTTP server on 127.0.0.1 that speaks the OpenAI chat completions wire format (SSE
/// streaming, tool calls, usage) and answers from a script, recording every request.
public actor ScriptedLLM {
    private var script: [ScriptedReply]
    public private(set) var requests: [JSONValue] = []
    public private(set) var headers: [[String: String]] = []

    public init(_ script: [ScriptedReply]) {
        self.script = script
    }

    public func append(_ replies: [ScriptedReply]) { script += replies }

    func next(request: JSONValue, headers: [String: String]) -> ScriptedReply {
        requests.append(request)
        self.headers.append(headers)
        return script.isEmpty ? .status(500) : script.removeFirst()
    }

    /// Runs `body` with the base URL of a server answering from this script.
    public func serve<T: Sendable>(_ body: @Sendable (String) async throws -> T) async throws -> T {
        let router = Router()
        router.post("v1/chat/completions") { request, _ -> Response in
            let bytes = try await request.body.collect(upTo: 8 << 20)
            let json = (try? JSONDecoder().decode(JSONValue.self, from: Data(buffer: bytes))) ?? .null
            var fields: [String: String] = [:]
            for field in request.headers { fields[field.name.canonicalName] = field.value }
            return await Self.respond(self.next(request: json, headers: fields))
        }
        let (portStream, portContinuation) = AsyncStream.makeStream(of: Int.self)
        var logger = Logger(label: "scripted-llm")
        logger.logLevel = .critical
        let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)),
                              onServerRunning: { channel in portContinuation.yield(channel.localAddress?.port ?? 0) },
                              logger: logger)
        return try await withThrowingTaskGroup(of: Void.self) { group in
            let serviceGroup = ServiceGroup(configuration: .init(services: [app], logger: logger))
            group.addTask { try await serviceGroup.run() }
            var ports = portStream.makeAsyncIterator()
            guard let port = await ports.next() else { throw TestSetupError("scripted LLM server did not start") }
            do {
                let value = try await body("http://127.0.0.1:\(port)")
                await serviceGroup.triggerGracefulShutdown()
                return value
            } catch {
                await serviceGroup.triggerGracefulShutdown()
                throw error
            }
        }
    }

    static func respond(_ reply: ScriptedReply) async -> Response {
        switch reply {
        case .status(let code, let retryAfter):
            var headers: HTTPFields = [.contentType: "application/json"]
            if let retryAfter { headers[.retryAfter] = String(retryAfter) }
            return Response(status: .init(code: code), headers: headers,
                            body: .init(byteBuffer: ByteBuffer(string: #"{"error":{"message":"scripted failure","code":\#(code)}}"#)))
        case .stall(let duration, let then):
            try? await Task.sleep(for: duration)
            return await respond(then.reply)
        case .text(let text, let pieces, let usage):
            var events = [chunk(delta: ["role": "assistant", "content": ""])]
            for piece in split(text, into: pieces) { events.append(chunk(delta: ["content": .string(piece)])) }
            events.append(chunk(delta: [:], finish: "stop"))
            events.append(usageChunk(usage))
            return stream(events + ["[DONE]"])
        case .toolCalls(let calls, let usage):
            var events = [chunk(delta: ["role": "assistant", "content": nil])]
            for (index, call) in calls.enumerated() {
                events.append(chunk(delta: ["tool_calls": [["index": .number(Double(index)), "id": .string(call.id), "type": "function",
                                                             "function": ["name": .string(call.function.name), "arguments": ""]]]]))
                for fragment in split(call.function.arguments, into: 3) {
                    events.append(chunk(delta: ["tool_calls": [["index": .number(Double(index)), "function": ["arguments": .string(fragment)]]]]))
                }
            }
            events.append(chunk(delta: [:], finish: "tool_calls"))
            events.append(usageChunk(usage))
            return stream(events + ["[DONE]"])
        case .malformedChunk:
            return stream([chunk(delta: ["role": "assistant", "content": "Hel"]), "{not json", "[DONE]"])
        case .dropMidStream(let text):
            return stream([chunk(delta: ["role": "assistant", "content": .string(text)])])
        }
    }

    static func chunk(delta: JSONValue, finish: String? = nil) -> String {
        let value: JSONValue = ["id": "chatcmpl-scripted", "object": "chat.completion.chunk", "model": "scripted-model",
                                "choices": [["index": 0, "delta": delta, "finish_reason": finish.map { .string($0) } ?? .null]]]
        return String(decoding: try! JSONEncoder().encode(value), as: UTF8.self)
    }

    static func usageChunk(_ usage: Chat.Usage) -> String {
        let value: JSONValue = ["id": "chatcmpl-scripted", "object": "chat.completion.chunk", "model": "scripted-model", "choices": [],
                                "usage": ["prompt_tokens": .number(Double(usage.promptTokens)),
                                          "completion_tokens": .number(Double(usage.completionTokens)),
                                          "total_tokens": .number(Double(usage.promptTokens + usage.completionTokens))]]
        return String(decoding: try! JSONEncoder().encode(value), as: UTF8.self)
    }

    static func split(_ text: String, into pieces: Int) -> [String] {
        let characters = Array(text)
        guard pieces > 1, characters.count > 1 else { return [text] }
        let size = max(1, (characters.count + pieces - 1) / pieces)
        return stride(from: 0, to: characters.count, by: size).map { String(characters[$0..<min($0 + size, characters.count)]) }
    }

    static func stream(_ events: [String]) -> Response {
        let body = ResponseBody { writer in
            for event in events {
                try await writer.write(ByteBuffer(string: "data: \(event)\r\n\r\n"))
                try await Task.sleep(for: .milliseconds(2))
            }
            try await writer.finish(nil)
        }
        return Response(status: .ok, headers: [.contentType: "text/event-stream", .cacheControl: "no-cache"], body: body)
    }
}
