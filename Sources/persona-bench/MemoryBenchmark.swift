import ControlPlane
import Foundation
import PersonaCore
import PersonaKit
import SQLKit
import PersonaStorage
import Memory

/// The retrieval benchmark `scripts/bench-memory` runs through `persona-bench
/// memory-search`: one persona holding N chunks with clustered unit vectors (384
/// dimensions, as all-MiniLM-L6-v2's), searched through ``MemoryService/nearest`` (what the
/// search route runs after embedding the query). Beside it, the seed's query (`ORDER BY
/// curated DESC, distance`, which no index can serve) on PostgreSQL, and recall@10 of ours
/// against exact search.
enum MemoryBenchmark {
    public struct Result: Codable, Sendable {
        public var backend: String
        public var chunks: Int
        public var queries: Int
        public var insertSeconds: Double
        /// SQLite: loading the persona's matrix (first search). PostgreSQL: building the HNSW index.
        public var prepareSeconds: Double
        public var p50Ms: Double
        public var p95Ms: Double
        public var recallAt10: Double
        /// The seed's query on PostgreSQL (exact scan), for comparison; nil on SQLite.
        public var seedP50Ms: Double?
        public var seedP95Ms: Double?
    }

    /// Real embeddings for the benchmark: `texts` embedded with the configured model; the
    /// last `queries` of them are the queries (never stored).
    public struct Corpus: Sendable {
        var vectors: [[Float]]
        var queries: [[Float]]
    }

    /// - Parameter cache: a file keeping the vectors (float32) between runs of the same texts.
    public static func embed(configuration: AppConfiguration, texts: [String], queries: Int, cache: String) async throws -> Corpus {
        let embedder = MemoryEmbedder(configuration: configuration, http: .shared)
        let dimension = embedder.dimension
        var vectors: [[Float]] = []
        if let data = FileManager.default.contents(atPath: cache), data.count == texts.count * dimension * 4,
           let floats = MemoryVector.floats(Array(data)) {
            vectors = stride(from: 0, to: floats.count, by: dimension).map { Array(floats[$0..<$0 + dimension]) }
        } else {
            vectors.reserveCapacity(texts.count)
            for batch in texts.chunked(into: 256) { vectors += try await embedder.embed(Array(batch)) }
            FileManager.default.createFile(atPath: cache, contents: Data(MemoryVector.bytes(vectors.flatMap { $0 })))
        }
        return Corpus(vectors: Array(vectors.dropLast(queries)), queries: Array(vectors.suffix(queries)))
    }

    public static func run(configuration: AppConfiguration, database: Database, chunks count: Int, queries: Int,
                           corpus: Corpus? = nil) async throws -> Result {
        try await database.migrate()
        let memory = MemoryService(configuration: configuration, database: database,
                                   embedder: MemoryEmbedder(configuration: configuration, http: .shared))
        let model = memory.embedder.modelId
        let now = Date()
        let userId = Identifier.make(), personaId = Identifier.make()
        try await database.withConnection { db in
            try await db.insert(into: "users")
                .columns("id", "email", "name", "password_hash", "role", "is_active", "created_at", "updated_at")
                .values(SQLBind(userId), SQLBind("bench-\(userId)@bench.local"), SQLBind("bench"), SQLBind("-"), SQLBind("user"),
                        SQLBind(true), SQLBind(now), SQLBind(now)).run()
            try await db.insert(into: "personas").columns("id", "owner_id", "name", "is_active", "created_at", "updated_at")
                .values(SQLBind(personaId), SQLBind(userId), SQLBind("bench"), SQLBind(true), SQLBind(now), SQLBind(now)).run()
        }
        var random = SeededVectors(state: UInt64(count))
        let centers = (0..<max(8, count / 250)).map { _ in random.unit(384) }
        var vectors: [[Float]] = []
        vectors.reserveCapacity(count)
        var ids: [String] = []
        let insertStart = ContinuousClock.now
        let kind = database.kind
        if kind == .postgres {
            // Bulk load first, index after (as a restore would): the index build is timed apart.
            try await database.withConnection { try await $0.raw("DROP INDEX IF EXISTS chunks_hnsw_384").run() }
        }
        for start in stride(from: 0, to: count, by: 1000) {
            var batch: [NewChunk] = []
            for index in start..<min(start + 1000, count) {
                let vector = corpus.map { $0.vectors[index % $0.vectors.count] } ?? random.near(centers[index % centers.count], spread: 0.08)
                vectors.append(vector)
                let chunk = NewChunk(id: Identifier.make(), documentId: nil, index: index, text: "synthetic chunk \(index)",
                                     startOffset: nil, endOffset: nil, tokenCount: 4, curated: index % 50 == 0,
                                     sourceChunkIds: nil, embedding: vector)
                ids.append(chunk.id)
                batch.append(chunk)
            }
            let rows = batch
            try await database.transaction { try await memory.chunks.insert(rows, personaId: personaId, model: model, now: now, on: $0) }
        }
        let insertSeconds = seconds(ContinuousClock.now - insertStart)
        let prepareStart = ContinuousClock.now
        var probe = random.near(vectors[0], spread: 0.1)
        if kind == .postgres {
            try await database.withConnection { db in
                try await db.raw("SET maintenance_work_mem = '1GB'").run()
                try await db.raw(SQLQueryString(Database.hnswIndexStatement(dimension: 384))).run()
                try await db.raw("ANALYZE chunks").run()
            }
        } else {
            _ = try await memory.nearest(personaId: personaId, model: model, vector: probe, limit: 10)
        }
        let prepareSeconds = seconds(ContinuousClock.now - prepareStart)
        var latencies: [Double] = [], seedLatencies: [Double] = []
        var found = 0
        for q in 0..<queries {
            probe = corpus.map { $0.queries[q % $0.queries.count] } ?? random.near(vectors[(q * 7919) % count], spread: 0.1)
            let started = ContinuousClock.now
            let hits = try await memory.nearest(personaId: personaId, model: model, vector: probe, limit: 10)
            latencies.append(seconds(ContinuousClock.now - started) * 1000)
            // Exact top 10 among the uncurated (the merge takes the best of both lists; compare
            // like with like: ours returns the merged list, so exact merges the same way).
            let exact = exactTop(vectors: vectors, query: probe, curated: { $0 % 50 == 0 }, boost: configuration.memory.curatedBoost)
            found += hits.filter { hit in exact.contains { ids[$0] == hit.id } }.count
            if kind == .postgres {
                let literal = VectorCoding.pgText(probe)
                let seedStart = ContinuousClock.now
                _ = try await database.withConnection { db in
                    try await db.raw("""
                        SELECT id, 1 - (embedding::vector(384) <=> \(bind: literal)::vector(384)) AS similarity FROM chunks
                        WHERE persona_id = \(bind: personaId)
                        ORDER BY is_curated DESC, embedding::vector(384) <=> \(bind: literal)::vector(384) LIMIT 10
                        """).all()
                }
                seedLatencies.append(seconds(ContinuousClock.now - seedStart) * 1000)
            }
        }
        return Result(backend: kind.rawValue, chunks: count, queries: queries, insertSeconds: insertSeconds,
                      prepareSeconds: prepareSeconds, p50Ms: percentile(latencies, 0.5), p95Ms: percentile(latencies, 0.95),
                      recallAt10: Double(found) / Double(queries * 10),
                      seedP50Ms: seedLatencies.isEmpty ? nil : percentile(seedLatencies, 0.5),
                      seedP95Ms: seedLatencies.isEmpty ? nil : percentile(seedLatencies, 0.95))
    }

    /// Exact search with the same curated boost as ``MemoryService/merge``: the best 10 indices.
    static func exactTop(vectors: [[Float]], query: [Float], curated: (Int) -> Bool, boost: Double) -> [Int] {
        var scored: [(Int, Double)] = []
        scored.reserveCapacity(vectors.count)
        for (index, vector) in vectors.enumerated() {
            var dot: Float = 0
            for i in 0..<vector.count { dot += vector[i] * query[i] }
            scored.append((index, Double(dot) + (curated(index) ? boost : 0)))
        }
        return scored.sorted { $0.1 > $1.1 }.prefix(10).map(\.0)
    }

    static func seconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    }

    static func percentile(_ values: [Double], _ p: Double) -> Double {
        guard !values.isEmpty else { return 0 }
        let sorted = values.sorted()
        return (sorted[min(sorted.count - 1, Int((Double(sorted.count) * p).rounded(.up)) - 1)] * 100).rounded() / 100
    }
}
