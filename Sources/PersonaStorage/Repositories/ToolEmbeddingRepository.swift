import Foundation
import NIOCore
import SQLKit

/// `tool_embeddings`: the vector of each tool version's search text, per model.
package struct ToolEmbeddingRepository: Sendable {
    package let kind: SQLDialectKind

    package init(kind: SQLDialectKind) {
        self.kind = kind
    }

    /// One stored vector.
    package struct Stored: Sendable {
        package var toolId: String
        package var textHash: String
        package var vector: [Float]
    }

    /// Every vector stored under `model`.
    package func all(model: String, on db: any SQLDatabase) async throws -> [Stored] {
        let vector = kind == .postgres ? "embedding::text AS embedding_text" : "embedding"
        return try await db.raw("""
            SELECT tool_id, text_hash, \(unsafeRaw: vector) FROM tool_embeddings WHERE model = \(bind: model)
            """).all().map { row in
            Stored(toolId: try row.decode(column: "tool_id", as: String.self),
                   textHash: try row.decode(column: "text_hash", as: String.self),
                   vector: kind == .postgres
                       ? VectorCoding.parsePG(try row.decode(column: "embedding_text", as: String.self))
                       : VectorCoding.floats(try row.decode(column: "embedding", as: ByteBuffer.self)))
        }
    }

    /// Stores (or replaces) the vector of a tool version's text under `model`.
    package func upsert(toolId: String, model: String, textHash: String, vector: [Float], now: Date, on db: any SQLDatabase) async throws {
        try await db.delete(from: "tool_embeddings").where("tool_id", .equal, toolId).where("model", .equal, model).run()
        let value: any SQLExpression = kind == .postgres
            ? SQLQueryString("\(bind: VectorCoding.pgText(vector))::vector") : SQLBind(VectorCoding.blob(vector))
        try await db.insert(into: "tool_embeddings").columns("tool_id", "model", "text_hash", "dimension", "embedding", "created_at")
            .values(SQLBind(toolId), SQLBind(model), SQLBind(textHash), SQLBind(vector.count), value, SQLBind(now)).run()
    }
}
