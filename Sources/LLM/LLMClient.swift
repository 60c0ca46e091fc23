import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import NIOFoundationCompat
import NIOHTTP1
import PersonaKit
import PersonaCore

/// Why an LLM call failed. Retryable failures were already retried by ``LLMClient``.
public struct LLMError: Error, CustomStringConvertible, Sendable {
    /// Stable snake_case codes (PersonaCore's ``ErrorCode`` convention).
    public struct Code: ErrorCode {
        public let rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }
        public static let rateLimited: Code = "rate_limited"
        public static let serverError: Code = "server_error"
        public static let timeout: Code = "timeout"
        public static let connection: Code = "connection"
        public static let badRequest: Code = "bad_request"
        public static let malformedResponse: Code = "malformed_response"
    }

    public var code: Code
    public var message: String
    public var status: UInt?
    /// Seconds the server asked us to wait (`Retry-After`).
    public var retryAfter: Double?

    public var description: String { "LLMError(\(code.rawValue)\(status.map { " \($0)" } ?? "")): \(message)" }

    var isRetryable: Bool { [.rateLimited, .serverError, .timeout, .connection].contains(code) }
}

/// An OpenAI-compatible chat completions client (LiteLLM proxy or any compatible base URL):
/// whole and streamed answers, tool calls, retries with exponential backoff and full jitter on
/// 429, 5xx, time-outs and connection errors (honouring `Retry-After`), none on other 4xx.
public struct LLMClient: Sendable {
    public struct Configuration: Sendable {
        /// e.g. `http://localhost:4000` (the `/v1/chat/completions` path is appended).
        public var baseURL: String
        public var apiKey: String?
        /// Time for the whole answer (streams: time until the first byte, then per read).
        public var timeout: Duration = .seconds(120)
        public var maxAttempts = 4
        public var initialBackoff: Duration = .milliseconds(250)
        public var maxBackoff: Duration = .seconds(20)

        public init(baseURL: String, apiKey: String? = nil) {
            self.baseURL = baseURL.hasSuffix("/") ? String(baseURL.dropLast()) : baseURL
            self.apiKey = apiKey
        }
    }

    public let configuration: Configuration
    let http: HTTPClient
    let logger: Logger

    public init(configuration: Configuration, http: HTTPClient, logger: Logger) {
        self.configuration = configuration
        self.http = http
        self.logger = logger
    }

    /// What one call cost: the answer plus usage, latency and attempts.
    public struct Result: Sendable {
        public var message: Chat.Message
        public var finishReason: String?
        public var usage: Chat.Usage?
        public var model: String?
        public var latency: Duration
        public var attempts: Int
    }

    /// Streams a chat completion, calling `onToken` with each content delta, and returns the
    /// assembled message. Retries only while nothing has been streamed yet.
    public func complete(_ request: Chat.Request, trace: TraceContext? = nil,
                         onToken: @Sendable (String) async throws -> Void = { _ in }) async throws -> Result {
        var request = request
        request.stream = true
        request.streamOptions = Chat.StreamOptions(includeUsage: true)
        let body = try JSONEncoder().encode(request)
        let started = ContinuousClock.now
        var attempt = 0
        while true {
            attempt += 1
            var streamed = false
            do {
                var accumulator = ChatAccumulator()
                try await send(body, trace: trace) { chunk in
                    let text = accumulator.add(chunk)
                    if !text.isEmpty {
                        streamed = true
                        try await onToken(text)
                    }
                }
                return Result(message: accumulator.message, finishReason: accumulator.finishReason, usage: accumulator.usage,
                              model: accumulator.model, latency: ContinuousClock.now - started, attempts: attempt)
            } catch let error as LLMError where error.isRetryable && !streamed && attempt < configuration.maxAttempts {
                let delay = backoff(attempt: attempt, retryAfter: error.retryAfter)
                logger.warning("LLM call failed; retrying", metadata: [
                    "attempt": "\(attempt)", "error": "\(error)", "delay_ms": "\(delay.components.seconds * 1000 + delay.components.attoseconds / 1_000_000_000_000_000)",
                ])
                try await Task.sleep(for: delay)
            }
        }
    }

    /// Exponential backoff with full jitter, at least what `Retry-After` asked for.
    func backoff(attempt: Int, retryAfter: Double?) -> Duration {
        let base = configuration.initialBackoff * (1 << min(attempt - 1, 16))
        let capped = min(base, configuration.maxBackoff)
        let jittered = capped * Double.random(in: 0.5...1.0)
        if let retryAfter { return max(jittered, .milliseconds(Int64(min(retryAfter, 300) * 1000))) }
        return jittered
    }

    private func send(_ body: Data, trace: TraceContext?, onChunk: (Chat.Chunk) async throws -> Void) async throws {
        var request = HTTPClientRequest(url: configuration.baseURL + "/v1/chat/completions")
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        request.headers.add(name: "Accept", value: "text/event-stream")
        if let key = configuration.apiKey { request.headers.add(name: "Authorization", value: "Bearer \(key)") }
        if let trace { request.headers.add(name: "traceparent", value: trace.traceparent) }
        request.body = .bytes(ByteBuffer(bytes: body))
        let response: HTTPClientResponse
        do {
            response = try await http.execute(request, timeout: .init(configuration.timeout))
        } catch let error as HTTPClientError where error == .deadlineExceeded || error == .readTimeout || error == .connectTimeout {
            throw LLMError(code: .timeout, message: "the LLM gateway did not answer in time")
        } catch is CancellationError {
            throw CancellationError()
        } catch {
            throw LLMError(code: .connection, message: "cannot reach the LLM gateway: \(error)")
        }
        guard response.status == .ok else {
            let text = (try? await response.body.collect(upTo: 65_536)).map { String(buffer: $0) } ?? ""
            let retryAfter = response.headers.first(name: "Retry-After").flatMap(Double.init)
            let code: LLMError.Code = response.status == .tooManyRequests ? .rateLimited
                : response.status.code >= 500 ? .serverError : .badRequest
            throw LLMError(code: code, message: String(text.prefix(500)), status: response.status.code, retryAfter: retryAfter)
        }
        let isStream = response.headers.first(name: "Content-Type")?.contains("text/event-stream") ?? false
        if !isStream {
            let text = try await response.body.collect(upTo: 16 << 20)
            guard let completion = try? JSONDecoder().decode(Chat.Completion.self, from: Data(buffer: text)),
                  let choice = completion.choices.first else {
                throw LLMError(code: .malformedResponse, message: "the answer is not a chat completion")
            }
            try await onChunk(Chat.Chunk(id: completion.id, model: completion.model, choices: [
                .init(index: 0, delta: .init(role: "assistant", content: choice.message.content,
                                             toolCalls: choice.message.toolCalls?.enumerated().map {
                                                 .init(index: $0.offset, id: $0.element.id, type: "function",
                                                       function: .init(name: $0.element.function.name, arguments: $0.element.function.arguments))
                                             }), finishReason: choice.finishReason),
            ], usage: completion.usage))
            return
        }
        var parser = SSEParser()
        var done = false
        do {
            for try await buffer in response.body {
                for event in parser.feed(buffer.readableBytesView) {
                    if event == "[DONE]" { done = true; continue }
                    guard let chunk = try? JSONDecoder().decode(Chat.Chunk.self, from: Data(event.utf8)) else {
                        throw LLMError(code: .malformedResponse, message: "a streamed chunk is not valid JSON")
                    }
                    try await onChunk(chunk)
                }
            }
        } catch let error as LLMError {
            throw error
        } catch is CancellationError {
            throw CancellationError()
        } catch {
            throw LLMError(code: .connection, message: "the stream broke: \(error)")
        }
        if !done { throw LLMError(code: .connection, message: "the stream ended before [DONE]") }
    }
}
