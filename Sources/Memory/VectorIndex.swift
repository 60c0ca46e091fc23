import Embeddings
import Foundation
import NIOCore
import PersonaCore
import SQLKit
import PersonaStorage

/// Exact nearest-neighbour search for the SQLite backend: per persona and model, a row-major
/// matrix of unit vectors held in memory, loaded on the first search and kept in step with
/// writes through the persona's change log (each search first applies the changes after the
/// version it holds; one indexed `MAX(version)` query when nothing changed). Scoring is one
/// BLAS matrix-vector product.
package actor VectorIndex {
    private struct Key: Hashable {
        package var personaId: String
        package var model: String
    }

    /// A matrix and the change-log version it reflects.
    private final class Matrix {
        package var version: Int64
        package var rows: VectorMatrix

        package init(version: Int64, dimension: Int) {
            self.version = version
            self.rows = VectorMatrix(dimension: dimension)
        }

        package var dimension: Int { rows.dimension }
    }

    private var matrices: [Key: Matrix] = [:]
    private let chunks: ChunkRepository

    package init(chunks: ChunkRepository) {
        self.chunks = chunks
    }

    /// The best `limit` curated and the best `limit` uncurated chunks for `query` (a vector of
    /// `model`), each with its cosine similarity.
    package func nearest(personaId: String, model: String, query: [Float], limit: Int,
                 database: Database) async throws -> (curated: [(String, Double)], uncurated: [(String, Double)]) {
        let matrix = try await synced(Key(personaId: personaId, model: model), dimension: query.count, database: database)
        let unit = VectorMatrix.normalized(query)
        let rows = matrix.rows.count
        var scores = [Float](repeating: 0, count: rows)
        matrix.rows.values.withUnsafeBufferPointer { values in
            unit.withUnsafeBufferPointer { q in
                scores.withUnsafeMutableBufferPointer { s in
                    VectorMath.dotProducts(matrix: values, rows: rows, dimension: matrix.dimension, query: q, scores: s)
                }
            }
        }
        let curated = matrix.rows.curated
        let ids = matrix.rows.ids
        return scores.withUnsafeBufferPointer { s in
            (VectorMath.topK(s, k: limit) { curated[$0] }.map { (ids[$0.index], Double($0.score)) },
             VectorMath.topK(s, k: limit) { !curated[$0] }.map { (ids[$0.index], Double($0.score)) })
        }
    }

    /// Drops a persona's matrices (persona deleted); the next search reloads.
    package func forget(personaId: String) {
        matrices = matrices.filter { $0.key.personaId != personaId }
    }

    /// How many vectors of `personaId` are held in memory (all models).
    package func heldVectors(personaId: String) -> Int {
        matrices.filter { $0.key.personaId == personaId }.reduce(0) { $0 + $1.value.rows.count }
    }

    private func synced(_ key: Key, dimension: Int, database: Database) async throws -> Matrix {
        let latest = try await database.withConnection { try await self.chunks.latestVersion(personaId: key.personaId, on: $0) }
        if let matrix = matrices[key], matrix.dimension == dimension {
            while matrix.version < latest {
                let from = matrix.version
                let changes = try await database.withConnection {
                    try await self.chunks.changes(personaId: key.personaId, after: from, limit: 2000, on: $0)
                }
                guard !changes.isEmpty else { break }
                // Another search may have applied some of these while this one waited.
                for change in changes where change.version > matrix.version && !change.superseded {
                    if let vector = change.vector, change.model == key.model {
                        matrix.rows.upsert(id: change.chunkId, vector: vector, curated: change.curated)
                    } else {
                        matrix.rows.remove(id: change.chunkId)
                    }
                }
                matrix.version = max(matrix.version, changes[changes.count - 1].version)
            }
            return matrix
        }
        // First search: every vector of the model, read after the version so that changes
        // racing the load are applied (again, harmlessly) by the next search.
        let matrix = Matrix(version: latest, dimension: dimension)
        let rows = try await database.withConnection {
            try await $0.select().columns("id", "is_curated", "embedding").from("chunks")
                .where("persona_id", .equal, key.personaId).where("embedding_model", .equal, key.model)
                .where("embedding_dim", .equal, dimension).all()
        }
        matrix.rows.reserveCapacity(rows.count)
        for row in rows {
            matrix.rows.upsert(id: try row.decode(column: "id", as: String.self),
                               vector: VectorCoding.floats(try row.decode(column: "embedding", as: ByteBuffer.self)),
                               curated: try row.decode(column: "is_curated", as: Bool.self))
        }
        if let existing = matrices[key], existing.version >= matrix.version, existing.dimension == dimension { return existing }
        matrices[key] = matrix
        return matrix
    }
}
