/// What `memory_search` answers.
public struct MemorySearchResult: Codable, Sendable, Hashable {
    /// `vector` (cosine over the cached vectors) or `fulltext` (FTS5 BM25, when no query
    /// vector or no cached vector was available).
    public var mode: String
    /// Whether the sync before the search caught up with the control plane.
    public var synced: Bool
    /// The cache's change-log version the results come from.
    public var version: Int64
    public var results: [MemoryCache.Hit]
}

extension MemoryService {
    /// Searches the persona's memory from inside the container: syncs first (best effort,
    /// within `syncTimeout`), then ranks by vector similarity when both a query vector (the
    /// query-embedding cache, else `POST .../memory/embed` within `embedTimeout`) and cached
    /// vectors of the current model exist, by full text otherwise.
    /// - Parameters:
    ///   - query: 1...4000 characters (the manifest's schema checks this); trimmed.
    ///   - limit: clamped to 1...20.
    /// - Throws: ``SupervisorError`` `validation_failed` for a blank query, `storage_error`.
    public func search(_ query: String, limit: Int, syncTimeout: Duration? = nil,
                       embedTimeout: Duration? = nil) async throws(SupervisorError) -> MemorySearchResult {
        var trimmed = Substring(query)
        while trimmed.first?.isWhitespace == true { trimmed.removeFirst() }
        while trimmed.last?.isWhitespace == true { trimmed.removeLast() }
        let text = String(trimmed)
        guard !text.isEmpty else { throw SupervisorError("validation_failed", "query must not be blank", status: 400) }
        let limit = min(max(limit, 1), 20)
        let synced = await sync(timeout: syncTimeout ?? searchSyncTimeout)
        var hits: [MemoryCache.Hit]?
        if let vector = try await queryVector(text, timeout: embedTimeout ?? searchEmbedTimeout) {
            hits = try cache.vectorSearch(vector.values, model: vector.model, limit: limit, curatedBoost: curatedBoost)
        }
        let mode = hits == nil ? "fulltext" : "vector"
        let results: [MemoryCache.Hit]
        if let hits { results = hits } else { results = try cache.fullTextSearch(text, limit: limit) }
        return MemorySearchResult(mode: mode, synced: synced, version: try cache.meta().version, results: results)
    }

    /// A vector for `text` comparable with the cache's, or `nil`: from the query-embedding
    /// cache, else from the control plane (and then remembered). Not asked for when the cache
    /// holds no vector to compare with.
    private func queryVector(_ text: String, timeout: Duration) async throws(SupervisorError) -> (model: String, values: [Float])? {
        let meta = try cache.meta()
        guard let model = meta.model, try cache.hasVectors() else { return nil }
        if let cached = try cache.cachedQueryVector(model: model, query: text) { return (model, cached) }
        guard let embedded = await embed(text, timeout: timeout) else { return nil }
        do {
            try cache.storeQueryVector(embedded.vector, model: embedded.model, query: text)
        } catch {
            logger.warning("could not cache a query embedding", metadata: ["error": "\(String(reflecting: error))"])
        }
        // Another model means the cache is behind the control plane: its vectors cannot be compared.
        return embedded.model == model ? (model, embedded.vector) : nil
    }
}
