import AsyncHTTPClient
import ControlPlane
import Logging
import PersonaKit
import Testing
import TestSupport
@testable import LLM
import PersonaStorage

@Suite("LLM client against a scripted OpenAI-compatible server")
struct LLMClientTests {
    @discardableResult
    func withClient<T: Sendable>(_ script: [ScriptedReply], configure: @Sendable (inout LLMClient.Configuration) -> Void = { _ in },
                                 _ body: @Sendable (LLMClient, ScriptedLLM) async throws -> T) async throws -> T {
        let llm = ScriptedLLM(script)
        return try await llm.serve { url in
            var configuration = LLMClient.Configuration(baseURL: url, apiKey: "sk-test")
            configuration.initialBackoff = .milliseconds(5)
            configure(&configuration)
            let http = HTTPClient(eventLoopGroupProvider: .singleton)
            do {
                var logger = Logger(label: "test")
                logger.logLevel = .critical
                let value = try await body(LLMClient(configuration: configuration, http: http, logger: logger), llm)
                try await http.shutdown()
                return value
            } catch {
                try? await http.shutdown()
                throw error
            }
        }
    }

    @Test("a streamed answer arrives token by token with usage, and the request carries the trace and key")
    func streamedText() async throws {
        try await withClient([.text("Hello there, persona!", pieces: 4)]) { client, llm in
            let tokens = TokenCollector()
            let trace = TraceContext.newRoot()
            let result = try await client.complete(Chat.Request(model: "gpt-4o-mini", messages: [.user("hi")]), trace: trace) {
                await tokens.add($0)
            }
            #expect(result.message.content == "Hello there, persona!")
            #expect(await tokens.pieces.count == 4)
            #expect(result.usage == Chat.Usage(promptTokens: 12, completionTokens: 7))
            #expect(result.finishReason == "stop")
            #expect(result.attempts == 1)
            let headers = await llm.headers.first ?? [:]
            #expect(headers["authorization"] == "Bearer sk-test")
            #expect(headers["traceparent"]?.contains(trace.traceId) == true)
            #expect(await llm.requests.first?["stream"] == true)
        }
    }

    @Test("tool calls streamed in fragments are assembled")
    func toolCalls() async throws {
        let calls = [Chat.ToolCall(id: "call_1", name: "shell", arguments: #"{"command":"ls -la /workspace"}"#),
                     Chat.ToolCall(id: "call_2", name: "write_file", arguments: #"{"path":"a.txt","content":"hi"}"#)]
        try await withClient([.toolCalls(calls)]) { client, llm in
            let tool = Chat.Tool(name: "shell", description: "Run a command", parameters: ["type": "object"])
            let result = try await client.complete(Chat.Request(model: "m", messages: [.user("go")], tools: [tool]))
            #expect(result.message.toolCalls == calls)
            #expect(result.finishReason == "tool_calls")
            #expect(await llm.requests.first?["tools"]?[0]?["function"]?["name"] == "shell")
        }
    }

    @Test("429 and 5xx are retried with backoff honouring Retry-After; 4xx is not")
    func retries() async throws {
        try await withClient([.status(429, retryAfter: 0), .status(503), .text("ok")]) { client, llm in
            let result = try await client.complete(Chat.Request(model: "m", messages: [.user("x")]))
            #expect(result.message.content == "ok")
            #expect(result.attempts == 3)
            #expect(await llm.requests.count == 3)
        }
        try await withClient([.status(400), .text("never")]) { client, llm in
            await #expect(throws: LLMError.self) { _ = try await client.complete(Chat.Request(model: "m", messages: [.user("x")])) }
            #expect(await llm.requests.count == 1)
        }
    }

    @Test("an LLM that keeps failing fails cleanly after the last attempt")
    func givesUp() async throws {
        try await withClient([.status(500), .status(500), .status(500)], configure: { $0.maxAttempts = 3 }) { client, llm in
            do {
                _ = try await client.complete(Chat.Request(model: "m", messages: [.user("x")]))
                Issue.record("expected a failure")
            } catch let error as LLMError {
                #expect(error.code == .serverError)
                #expect(error.status == 500)
            }
            #expect(await llm.requests.count == 3)
        }
    }

    @Test("malformed chunks, dropped streams and time-outs are typed errors")
    func brokenStreams() async throws {
        try await withClient([.malformedChunk], configure: { $0.maxAttempts = 1 }) { client, _ in
            await #expect(throws: LLMError.self) { _ = try await client.complete(Chat.Request(model: "m", messages: [.user("x")])) }
        }
        try await withClient([.dropMidStream("partial")], configure: { $0.maxAttempts = 1 }) { client, _ in
            do {
                _ = try await client.complete(Chat.Request(model: "m", messages: [.user("x")]))
                Issue.record("expected a failure")
            } catch let error as LLMError {
                #expect(error.code == .connection)
            }
        }
        // The time-out leaves room for a loaded CI machine to answer the second attempt (300 ms
        // did not); the stall stays well beyond it so the first attempt always times out.
        try await withClient([.stall(.seconds(8), then: .init(.text("late"))), .text("on time")],
                             configure: { $0.timeout = .seconds(2) }) { client, llm in
            let result = try await client.complete(Chat.Request(model: "m", messages: [.user("x")]))
            #expect(result.message.content == "on time")
            #expect(result.attempts == 2)
            #expect(await llm.requests.count == 2)
        }
    }

    @Test("cancelling the task cancels the in-flight call")
    func cancellation() async throws {
        try await withClient([.stall(.seconds(5), then: .init(.text("late")))]) { client, _ in
            let task = Task { try await client.complete(Chat.Request(model: "m", messages: [.user("x")])) }
            try await Task.sleep(for: .milliseconds(200))
            let started = ContinuousClock.now
            task.cancel()
            _ = try? await task.value
            #expect(ContinuousClock.now - started < .seconds(3))
        }
    }
}

actor TokenCollector {
    var pieces: [String] = []
    func add(_ piece: String) { pieces.append(piece) }
}

@Suite("SSE parsing")
struct SSEParserTests {
    @Test("events split across reads, CRLF, comments and multi-line data")
    func parsing() {
        var parser = SSEParser()
        #expect(parser.feed(Array("data: {\"a\"".utf8)).isEmpty)
        #expect(parser.feed(Array(":1}\r\n\r\n: comment\n\ndata: x\ndata: y\n\ndata: [DONE]\n\n".utf8)) == ["{\"a\":1}", "x\ny", "[DONE]"])
    }
}
