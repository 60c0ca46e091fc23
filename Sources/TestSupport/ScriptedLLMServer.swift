import ControlPlane
import Foundation
import Hummingbird
import Logging
import NIOCore
import PersonaKit
import ServiceLifecycle
import LLM

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

    /// `/v1/embeddings` requests received, and the status to answer them with (200: vectors).
    public private(set) var embeddingRequests: [JSONValue] = []
    public private(set) var embeddingHeaders: [[String: String]] = []
    public var embeddingStatus = 200
    public func setEmbeddingStatus(_ status: Int) { embeddingStatus = status }

    func embeddingRequest(_ request: JSONValue, headers: [String: String]) -> Int {
        embeddingRequests.append(request)
        embeddingHeaders.append(headers)
        return embeddingStatus
    }

    /// A deterministic stand-in for an embedding model: a normalised bag of hashed,
    /// lower-cased words, so texts that share words are close, as the real wire format carries.
    public static func embedding(_ text: String, dimensions: Int) -> [Float] {
        var vector = [Float](repeating: 0, count: dimensions)
        for word in text.lowercased().split(whereSeparator: { !$0.isLetter && !$0.isNumber }) {
            var hash: UInt64 = 14_695_981_039_346_656_037
            for byte in word.utf8 { hash = (hash ^ UInt64(byte)) &* 1_099_511_628_211 }
            vector[Int(hash % UInt64(dimensions))] += 1
        }
        let norm = vector.reduce(0) { $0 + $1 * $1 }.squareRoot()
        return norm > 0 ? vector.map { $0 / norm } : vector
    }

    func next(request: JSONValue, headers: [String: String]) -> ScriptedReply {
        requests.append(request)
        self.headers.append(headers)
        return script.isEmpty ? .status(500) : script.removeFirst()
    }

    /// Runs `body` with the base URL of a server answering from this script.
    /// - Parameter host: the address it listens on (another than loopback for a client in a
    ///   container, e.g. the Docker bridge's gateway).
    public func serve<T: Sendable>(host: String = "127.0.0.1", _ body: @Sendable (String) async throws -> T) async throws -> T {
        let router = Router()
        router.post("v1/chat/completions") { request, _ -> Response in
            let bytes = try await request.body.collect(upTo: 8 << 20)
            let json = (try? JSONDecoder().decode(JSONValue.self, from: Data(buffer: bytes))) ?? .null
            var fields: [String: String] = [:]
            for field in request.headers { fields[field.name.canonicalName] = field.value }
            return await Self.respond(self.next(request: json, headers: fields))
        }
        router.post("v1/embeddings") { request, _ -> Response in
            let bytes = try await request.body.collect(upTo: 8 << 20)
            let json = (try? JSONDecoder().decode(JSONValue.self, from: Data(buffer: bytes))) ?? .null
            var fields: [String: String] = [:]
            for field in request.headers { fields[field.name.canonicalName] = field.value }
            let status = await self.embeddingRequest(json, headers: fields)
            guard status == 200 else {
                return Response(status: .init(code: status), body: .init(byteBuffer: ByteBuffer(string: #"{"error":{"message":"scripted failure"}}"#)))
            }
            let dimensions = json["dimensions"]?.intValue ?? 1536
            let inputs = json["input"]?.arrayValue?.compactMap(\.stringValue) ?? []
            let data: [JSONValue] = inputs.enumerated().map { index, text in
                ["object": "embedding", "index": .number(Double(index)),
                 "embedding": .array(Self.embedding(text, dimensions: dimensions).map { .number(Double($0)) })]
            }
            let body: JSONValue = ["object": "list", "data": .array(data), "model": json["model"] ?? .null,
                                   "usage": ["prompt_tokens": .number(Double(inputs.count)), "total_tokens": .number(Double(inputs.count))]]
            return Response(status: .ok, headers: [.contentType: "application/json"],
                            body: .init(byteBuffer: ByteBuffer(bytes: try JSONEncoder().encode(body))))
        }
        let (portStream, portContinuation) = AsyncStream.makeStream(of: Int.self)
        var logger = Logger(label: "scripted-llm")
        logger.logLevel = .critical
        let app = Application(router: router, configuration: .init(address: .hostname(host, port: 0)),
                              onServerRunning: { channel in portContinuation.yield(channel.localAddress?.port ?? 0) },
                              logger: logger)
        return try await withThrowingTaskGroup(of: Void.self) { group in
            let serviceGroup = ServiceGroup(configuration: .init(services: [app], logger: logger))
            group.addTask { try await serviceGroup.run() }
            var ports = portStream.makeAsyncIterator()
            guard let port = await ports.next() else { throw TestSetupError("scripted LLM server did not start") }
            do {
                let value = try await body("http://\(host):\(port)")
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
