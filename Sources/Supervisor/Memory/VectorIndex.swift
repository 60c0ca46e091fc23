import PersonaCore

/// The cached vectors of one model, searched by brute force over a ``VectorMatrix``
/// (cosine = dot product). 10k chunks of 1536 floats are 60 MiB and a few ms per query.
struct VectorIndex: Sendable {
    /// One ranked chunk.
    struct Hit: Sendable, Hashable {
        var chunkId: String
        /// Cosine similarity to the query.
        var similarity: Float
        /// `similarity`, plus the boost when the chunk is curated.
        var score: Float
    }

    let model: String
    private var matrix: VectorMatrix

    init(model: String, dimension: Int) {
        self.model = model
        self.matrix = VectorMatrix(dimension: dimension)
    }

    var dimension: Int { matrix.dimension }
    var count: Int { matrix.count }
    var ids: [String] { matrix.ids }

    /// Adds or replaces a chunk's vector; a vector of another dimension is ignored.
    mutating func upsert(id: String, vector: [Float], curated isCurated: Bool) {
        matrix.upsert(id: id, vector: vector, curated: isCurated)
    }

    /// Removes a chunk.
    mutating func remove(id: String) {
        matrix.remove(id: id)
    }

    /// The `limit` best chunks for `query`, best first: ranked by similarity plus
    /// `curatedBoost` for curated chunks, so a curated summary wins a near tie but not against
    /// a clearly better match (ties keep the better raw similarity).
    func nearest(to query: [Float], limit: Int, curatedBoost: Float) -> [Hit] {
        guard query.count == dimension, limit > 0, count > 0 else { return [] }
        let similarities = matrix.dotProducts(VectorMatrix.normalized(query))
        var best: [Hit] = []
        best.reserveCapacity(limit + 1)
        for (row, similarity) in similarities.enumerated() where !similarity.isNaN {
            let score = similarity + (matrix.curated[row] ? curatedBoost : 0)
            if best.count == limit, let worst = best.last, (score, similarity) <= (worst.score, worst.similarity) { continue }
            var position = best.count
            while position > 0, (best[position - 1].score, best[position - 1].similarity) < (score, similarity) { position -= 1 }
            best.insert(Hit(chunkId: matrix.ids[row], similarity: similarity, score: score), at: position)
            if best.count > limit { best.removeLast() }
        }
        return best
    }
}
