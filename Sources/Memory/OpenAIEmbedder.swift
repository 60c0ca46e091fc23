import AsyncHTTPClient
import Embeddings
import Foundation
import NIOCore
import NIOHTTP1
import Tokenizer

/// An OpenAI-compatible `/v1/embeddings` backend (the LiteLLM proxy): batches of up to 128
/// texts a request, `dimensions` asked for, results put back in input order by `index`.
package struct OpenAIEmbedder: Embedder {
    package let baseURL: String
    package let apiKey: String?
    package let model: String
    package let dimension: Int
    package let http: HTTPClient
    package var timeout: TimeAmount = .seconds(60)

    package var modelId: String { Self.modelId(model: model, dimension: dimension) }

    /// Names the model and the dimension asked for: the same model cut to another length
    /// makes vectors that must not be compared.
    package static func modelId(model: String, dimension: Int) -> String { "openai:\(model)@\(dimension)" }

    private struct Request: Encodable {
        package var model: String
        package var input: [String]
        package var dimensions: Int
        package var encoding_format = "float"
    }

    private struct Response: Decodable {
        package struct Item: Decodable {
            package var index: Int
            package var embedding: [Float]
        }
        package var data: [Item]
    }

    package func embed(_ texts: [String]) async throws -> [[Float]] {
        var vectors: [[Float]] = []
        vectors.reserveCapacity(texts.count)
        for batch in texts.chunked(into: 128) {
            vectors += try await embedBatch(Array(batch))
        }
        return vectors
    }

    /// Retries rate limits, server errors and connection failures (4 attempts, backoff from
    /// 0.5 s); other answers fail at once.
    private func embedBatch(_ texts: [String]) async throws -> [[Float]] {
        var delay: Duration = .milliseconds(500)
        var attempt = 1
        while true {
            do {
                return try await attemptBatch(texts)
            } catch let failure as Retryable {
                guard attempt < 4 else { throw failure.error }
                try await Task.sleep(for: delay)
                delay *= 2
                attempt += 1
            }
        }
    }

    private struct Retryable: Error {
        package var error: EmbeddingsError
    }

    private func attemptBatch(_ texts: [String]) async throws -> [[Float]] {
        var request = HTTPClientRequest(url: baseURL + "/v1/embeddings")
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        if let apiKey { request.headers.add(name: "Authorization", value: "Bearer \(apiKey)") }
        request.body = .bytes(ByteBuffer(bytes: try JSONEncoder().encode(Request(model: model, input: texts, dimensions: dimension))))
        let response: HTTPClientResponse
        let body: ByteBuffer
        do {
            response = try await http.execute(request, timeout: timeout)
            body = try await response.body.collect(upTo: 64 << 20)
        } catch {
            throw Retryable(error: EmbeddingsError(.backendFailure, "the embeddings gateway at \(baseURL) did not answer"))
        }
        guard response.status == .ok else {
            let failure = EmbeddingsError(.backendFailure, "the embeddings gateway answered HTTP \(response.status.code)")
            if response.status.code == 429 || response.status.code >= 500 { throw Retryable(error: failure) }
            throw failure
        }
        guard let decoded = try? JSONDecoder().decode(Response.self, from: Data(body.readableBytesView)),
              decoded.data.count == texts.count
        else {
            throw EmbeddingsError(.backendFailure, "the embeddings gateway answered with a malformed body")
        }
        var ordered = [[Float]](repeating: [], count: texts.count)
        for item in decoded.data {
            guard ordered.indices.contains(item.index), item.embedding.count == dimension else {
                throw EmbeddingsError(.backendFailure, "the embeddings gateway returned a vector of \(item.embedding.count) floats, expected \(dimension)")
            }
            ordered[item.index] = item.embedding
        }
        return ordered
    }
}
