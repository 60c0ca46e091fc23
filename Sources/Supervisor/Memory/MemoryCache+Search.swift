import PersonaKit
import PersonaCore

extension MemoryCache {
    /// One search result, as `memory_search` returns it.
    public struct Hit: Codable, Sendable, Hashable {
        public var chunkId: String
        public var documentId: String?
        public var documentName: String?
        public var text: String
        public var curated: Bool
        /// Vector mode: cosine similarity (+ the curated boost); full-text mode: `-bm25`.
        /// Higher is better, rounded to 4 decimals.
        public var score: Double
    }

    /// Rows loaded per statement while building the in-memory index.
    static let indexBatch = 1000

    /// Ranks the cached vectors of `model` against `query` (see ``VectorIndex/nearest(to:limit:curatedBoost:)``).
    /// - Returns: `nil` when nothing cached can be compared with `query` (another model or
    ///   dimension than the cache's, or no chunk of the cache's model has a vector): the caller
    ///   falls back to full text.
    /// - Throws: ``SupervisorError`` `storage_error`.
    public func vectorSearch(_ query: [Float], model: String, limit: Int, curatedBoost: Float = 0.05) throws(SupervisorError) -> [Hit]? {
        try state.withLock { state throws(SupervisorError) -> [Hit]? in
            let meta = try readMeta()
            guard meta.model == model, let dimension = meta.dimension, query.count == dimension else { return nil }
            if state.index == nil { state.index = try loadIndex(model: model, dimension: dimension) }
            guard let index = state.index, index.count > 0 else { return nil }
            let ranked = index.nearest(to: query, limit: limit, curatedBoost: curatedBoost)
            let rows = try chunkRows(ids: ranked.map(\.chunkId))
            return ranked.compactMap { hit in
                guard var row = rows[hit.chunkId] else { return nil }
                row.score = Self.rounded(hit.score)
                return row
            }
        }
    }

    /// Full-text search (FTS5, BM25) over the cached texts. The query is never FTS syntax:
    /// its words are quoted one by one and OR-ed (``ftsQuery(_:)``).
    /// - Throws: ``SupervisorError`` `storage_error`.
    public func fullTextSearch(_ query: String, limit: Int) throws(SupervisorError) -> [Hit] {
        guard let match = Self.ftsQuery(query), limit > 0 else { return [] }
        return try state.withLock { _ throws(SupervisorError) in
            try db.execute("""
                SELECT c.chunk_id, c.document_id, c.document_name, c.curated, c.text, bm25(chunks_fts)
                FROM chunks_fts JOIN chunks c ON c.id = chunks_fts.rowid
                WHERE chunks_fts MATCH ? ORDER BY bm25(chunks_fts) LIMIT ?
                """, [.text(match), .integer(Int64(limit))]
            ).map { row in
                var hit = Self.hit(row)
                hit.score = Self.rounded(-(row[5].real ?? 0))
                return hit
            }
        }
    }

    /// `text` as a safe FTS5 query: every run of letters and digits becomes a quoted term,
    /// the terms are OR-ed (BM25 ranks chunks matching more of them first). Quotes, `*`, `^`,
    /// `:`, parentheses and operators in `text` are only separators, so nothing a user types
    /// is FTS syntax. `nil` when `text` has no word at all.
    static func ftsQuery(_ text: String, maxTerms: Int = 32) -> String? {
        var terms: [String] = []
        var seen: Set<String> = []
        var current = ""
        func flush() {
            if !current.isEmpty, terms.count < maxTerms, seen.insert(current.lowercased()).inserted { terms.append(current) }
            current = ""
        }
        for character in text {
            if character.isLetter || character.isNumber { current.append(character) } else { flush() }
        }
        flush()
        guard !terms.isEmpty else { return nil }
        return terms.map { "\"\($0)\"" }.joined(separator: " OR ")
    }

    private func loadIndex(model: String, dimension: Int) throws(SupervisorError) -> VectorIndex {
        var index = VectorIndex(model: model, dimension: dimension)
        var after: Int64 = 0
        while true {
            let rows = try db.execute("""
                SELECT id, chunk_id, curated, vector FROM chunks
                WHERE model = ? AND dim = ? AND vector IS NOT NULL AND id > ? ORDER BY id LIMIT ?
                """, [.text(model), .integer(Int64(dimension)), .integer(after), .integer(Int64(Self.indexBatch))])
            for row in rows {
                guard let id = row[1].text, let bytes = row[3].bytes, let vector = MemoryVector.floats(bytes) else { continue }
                index.upsert(id: id, vector: vector, curated: row[2].integer == 1)
            }
            guard rows.count == Self.indexBatch, let last = rows.last?[0].integer else { return index }
            after = last
        }
    }

    private func chunkRows(ids: [String]) throws(SupervisorError) -> [String: Hit] {
        guard !ids.isEmpty else { return [:] }
        let placeholders = Array(repeating: "?", count: ids.count).joined(separator: ", ")
        let rows = try db.execute(
            "SELECT chunk_id, document_id, document_name, curated, text FROM chunks WHERE chunk_id IN (\(placeholders))",
            ids.map(SQLiteValue.text))
        return Dictionary(rows.map { row in (row[0].text ?? "", Self.hit(row)) }, uniquingKeysWith: { first, _ in first })
    }

    private static func hit(_ row: [SQLiteValue]) -> Hit {
        Hit(chunkId: row[0].text ?? "", documentId: row[1].text, documentName: row[2].text, text: row[4].text ?? "",
            curated: row[3].integer == 1, score: 0)
    }

    private static func rounded(_ value: some BinaryFloatingPoint) -> Double {
        (Double(value) * 10_000).rounded() / 10_000
    }
}
