import Tokenizer
/// Something that turns texts into fixed-size sentence embeddings.
///
/// Implementations: ``MiniLMEmbedder`` (local all-MiniLM-L6-v2); an OpenAI-compatible
/// `/v1/embeddings` backend can conform too. Results are in the order of the input,
/// one vector of ``dimension`` floats per text.
public protocol Embedder: Sendable {
    /// A stable identifier of the model, used to key caches and stored vectors
    /// (vectors from different model ids must never be compared).
    var modelId: String { get }
    /// The length of every returned vector.
    var dimension: Int { get }
    /// Embeds `texts`, returning one vector per text in the same order.
    /// - Throws: ``EmbeddingsError`` when the backend fails.
    func embed(_ texts: [String]) async throws -> [[Float]]
}

extension Embedder {
    /// Embeds one text.
    /// - Throws: ``EmbeddingsError`` when the backend fails.
    public func embed(_ text: String) async throws -> [Float] {
        let vectors = try await embed([text])
        guard let first = vectors.first else {
            throw EmbeddingsError(.backendFailure, "the embedder returned no vector for one text")
        }
        return first
    }
}
