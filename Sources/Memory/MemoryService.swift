import Foundation
import Logging
import PersonaKit
import SQLKit
import PersonaCore
import PersonaStorage

/// Document memory: uploads, the document list, deletion and retrieval. Ingestion runs in
/// ``MemoryIngestionWorker``, summaries in ``MemoryCurator``.
public struct MemoryService: Sendable {
    public let embedder: MemoryEmbedder
    package let database: Database
    package let settings: MemorySettings
    package let store: DocumentStore
    package let documents = DocumentRepository()
    package let chunks: ChunkRepository
    package let index: VectorIndex
    /// Signalled when a document is queued, so the ingestion worker starts at once.
    public let wakeUp = Wakeup()

    /// - Parameters:
    ///   - settings: chunking, search and curator settings.
    ///   - store: where uploaded files are kept.
    ///   - database: documents and chunks.
    ///   - embedder: the embedder searches and ingestion use.
    package init(settings: MemorySettings, store: DocumentStore, database: Database, embedder: MemoryEmbedder) {
        self.database = database
        self.settings = settings
        self.embedder = embedder
        self.store = store
        self.chunks = ChunkRepository(kind: database.kind)
        self.index = VectorIndex(chunks: chunks)
    }

    /// PostgreSQL: the partial HNSW index for the configured embedder's dimension (384 comes
    /// with the migration).
    package func prepare() async throws {
        guard database.kind == .postgres, embedder.dimension != 384 else { return }
        guard embedder.dimension <= 2000 else { return }  // pgvector's HNSW limit: exact scans beyond it
        try await database.withConnection { try await $0.raw(SQLQueryString(Database.hnswIndexStatement(dimension: self.embedder.dimension))).run() }
    }

    /// Deletes a document, its chunks (logged for the caches) and, when nothing else uses
    /// them, its stored bytes.
    package func delete(documentId: String, personaId: String, event: AuditEvent, audit: AuditRepository) async throws -> Bool {
        let removed: MemoryDocument? = try await database.transaction { tx in
            guard let document = try await documents.find(id: documentId, personaId: personaId, on: tx) else { return nil }
            try await chunks.deleteChunks(documentId: documentId, personaId: personaId, now: Date(), on: tx)
            _ = try await documents.delete(id: documentId, on: tx)
            try await audit.insert(event, on: tx)
            return document
        }
        guard let removed else { return false }
        let stillUsed = try await database.withConnection { try await documents.isReferenced(sha256: removed.sha256, on: $0) }
        if !stillUsed { store.remove(sha256: removed.sha256) }
        return true
    }

    /// The chunks most relevant to `query`. Curated and uncurated chunks are searched
    /// separately (each an index scan) and merged, curated ones getting a bounded boost: a
    /// curated summary wins a near tie, not against a clearly better match.
    public func search(personaId: String, query: String, limit: Int) async throws -> [MemoryChunk] {
        let vector = try await embedder.embed([query])[0]
        let ranked = try await nearest(personaId: personaId, model: embedder.modelId, vector: vector, limit: limit)
        let rows = try await database.withConnection { try await chunks.chunks(ids: ranked.map(\.id), on: $0) }
        let byId = Dictionary(rows.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
        return ranked.compactMap { hit in
            guard var chunk = byId[hit.id] else { return nil }
            chunk.similarity = (hit.similarity * 10_000).rounded() / 10_000
            return chunk
        }
    }

    /// The ids of the `limit` best chunks for `vector` (of `model`), curated ones boosted.
    package func nearest(personaId: String, model: String, vector: [Float], limit: Int) async throws -> [(id: String, similarity: Double)] {
        let (curated, uncurated): ([(String, Double)], [(String, Double)])
        switch database.kind {
        case .sqlite:
            (curated, uncurated) = try await index.nearest(personaId: personaId, model: model, query: vector, limit: limit,
                                                           database: database)
        case .postgres:
            (curated, uncurated) = try await database.transaction { tx in
                // Transaction-local, in one round trip.
                try await tx.raw("""
                    SELECT set_config('hnsw.iterative_scan', 'relaxed_order', true),
                           set_config('hnsw.ef_search', \(bind: String(max(settings.hnswEfSearch, limit * 2))), true)
                    """).run()
                let curated = try await nearestPG(tx, personaId: personaId, model: model, vector: vector, curated: true, limit: limit)
                let uncurated = try await nearestPG(tx, personaId: personaId, model: model, vector: vector, curated: false, limit: limit)
                return (curated, uncurated)
            }
        }
        return Self.merge(curated: curated, uncurated: uncurated, boost: settings.curatedBoost, limit: limit)
    }

    /// Ranks by similarity plus `boost` for curated chunks; ties keep the better raw match.
    package static func merge(curated: [(String, Double)], uncurated: [(String, Double)], boost: Double,
                      limit: Int) -> [(id: String, similarity: Double)] {
        let scored = curated.map { (id: $0.0, similarity: $0.1, score: $0.1 + boost) }
            + uncurated.map { (id: $0.0, similarity: $0.1, score: $0.1) }
        return scored.sorted { ($0.score, $0.similarity) > ($1.score, $1.similarity) }.prefix(limit).map { ($0.id, $0.similarity) }
    }

    /// Uncurated chunks: the HNSW index with iterative scans (so the persona filter still
    /// yields `limit` rows). Curated chunks: an exact scan of the persona's curated rows
    /// (found through `chunks_persona_idx`): they are few (the curator writes about one per
    /// hundred chunks), and a filtered HNSW scan for a rare class would walk most of the graph.
    private func nearestPG(_ db: any SQLDatabase, personaId: String, model: String, vector: [Float], curated: Bool,
                           limit: Int) async throws -> [(String, Double)] {
        let dimension = String(vector.count)
        let literal = VectorCoding.pgText(vector)
        let query: SQLQueryString
        if curated {
            query = """
                WITH candidates AS MATERIALIZED (
                  SELECT id, embedding FROM chunks
                  WHERE persona_id = \(bind: personaId) AND is_curated = \(bind: true)
                    AND embedding_model = \(bind: model) AND embedding_dim = \(unsafeRaw: dimension))
                SELECT id, 1 - (embedding::vector(\(unsafeRaw: dimension)) <=> \(bind: literal)::vector(\(unsafeRaw: dimension))) AS similarity
                FROM candidates ORDER BY similarity DESC LIMIT \(bind: limit)
                """
        } else {
            query = """
                SELECT id, 1 - (embedding::vector(\(unsafeRaw: dimension)) <=> \(bind: literal)::vector(\(unsafeRaw: dimension))) AS similarity
                FROM chunks
                WHERE persona_id = \(bind: personaId) AND embedding_model = \(bind: model)
                  AND embedding_dim = \(unsafeRaw: dimension) AND is_curated = \(bind: false)
                ORDER BY embedding::vector(\(unsafeRaw: dimension)) <=> \(bind: literal)::vector(\(unsafeRaw: dimension))
                LIMIT \(bind: limit)
                """
        }
        return try await db.raw(query).all()
            .map { (try $0.decode(column: "id", as: String.self), try $0.decode(column: "similarity", as: Double.self)) }
    }
}
