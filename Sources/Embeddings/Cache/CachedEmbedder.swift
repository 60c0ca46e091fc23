import Tokenizer
/// An ``Embedder`` that answers from an ``EmbeddingCache`` and sends only the misses,
/// in one call, to the wrapped embedder.
public struct CachedEmbedder<Base: Embedder>: Embedder {
    /// The embedder that computes vectors on a miss.
    public let base: Base
    /// The cache consulted first.
    public let cache: EmbeddingCache

    /// Wraps `base` with `cache`.
    public init(_ base: Base, cache: EmbeddingCache) {
        self.base = base
        self.cache = cache
    }

    /// The wrapped embedder's model id (also the cache's key space).
    public var modelId: String { base.modelId }
    /// The wrapped embedder's dimension.
    public var dimension: Int { base.dimension }

    /// Embeds `texts`, computing each distinct uncached text once.
    /// - Throws: whatever the wrapped embedder throws; nothing is cached then.
    public func embed(_ texts: [String]) async throws -> [[Float]] {
        var results = [[Float]?](repeating: nil, count: texts.count)
        var missing: [String] = []
        // Keyed by bytes: String equality would merge canonically equivalent texts.
        var positions: [[UInt8]: [Int]] = [:]
        for (index, text) in texts.enumerated() {
            let bytes = Array(text.utf8)
            if let vector = await cache.vector(for: text, modelId: modelId) {
                results[index] = vector
            } else if positions[bytes] != nil {
                positions[bytes]!.append(index)
            } else {
                positions[bytes] = [index]
                missing.append(text)
            }
        }
        if !missing.isEmpty {
            let vectors = try await base.embed(missing)
            guard vectors.count == missing.count else {
                throw EmbeddingsError(.backendFailure, "\(modelId) returned \(vectors.count) vectors for \(missing.count) texts")
            }
            for (text, vector) in zip(missing, vectors) {
                await cache.insert(vector, for: text, modelId: modelId)
                for index in positions[Array(text.utf8)]! { results[index] = vector }
            }
        }
        return results.map { $0! }
    }
}
