import Foundation
import NIOCore
import SQLKit
import PersonaCore

/// `chunks` and `memory_changes` access. Every write to a persona's chunks appends to its
/// change log under the next versions; on PostgreSQL a per-persona advisory lock held to the
/// commit makes versions commit in order, so a reader that saw version N never later finds a
/// smaller one (the sync cursor stays exact). SQLite has a single writer.
package struct ChunkRepository: Sendable {
    package let kind: SQLDialectKind

    /// The first free version of `personaId`'s change log; on PostgreSQL the persona's lock
    /// is held from here to the commit, so the caller may use as many as it needs.
    private func firstFreeVersion(personaId: String, on db: any SQLDatabase) async throws -> Int64 {
        if kind == .postgres {
            try await db.raw("SELECT pg_advisory_xact_lock(hashtext(\(bind: "memory:" + personaId)))").run()
        }
        return try await latestVersion(personaId: personaId, on: db) + 1
    }

    private func logChanges(personaId: String, chunkIds: [String], deleted: Bool, now: Date, on db: any SQLDatabase) async throws {
        guard !chunkIds.isEmpty else { return }
        var version = try await firstFreeVersion(personaId: personaId, on: db)
        for batch in chunkIds.chunked(into: 500) {
            var insert = db.insert(into: "memory_changes").columns("persona_id", "version", "chunk_id", "deleted", "created_at")
            for id in batch {
                insert = insert.values(SQLBind(personaId), SQLBind(version), SQLBind(id), SQLBind(deleted), SQLBind(now))
                version += 1
            }
            try await insert.run()
        }
    }

    /// Stores chunks (and their change-log entries) for one persona, in batches.
    package func insert(_ chunks: [NewChunk], personaId: String, model: String, now: Date, on db: any SQLDatabase) async throws {
        guard !chunks.isEmpty else { return }
        for batch in chunks.chunked(into: 200) {
            var insert = db.insert(into: "chunks")
                .columns("id", "persona_id", "document_id", "chunk_index", "text", "start_offset", "end_offset", "token_count",
                         "text_hash", "is_curated", "source_chunk_ids", "embedding_model", "embedding_dim", "embedding", "created_at")
            for chunk in batch {
                let sources = try chunk.sourceChunkIds.map { try JSONCoding.encodeString($0) }
                insert = insert.values(SQLBind(chunk.id), SQLBind(personaId), SQLBind(chunk.documentId), SQLBind(chunk.index),
                                       SQLBind(chunk.text), SQLBind(chunk.startOffset), SQLBind(chunk.endOffset),
                                       SQLBind(chunk.tokenCount), SQLBind(ContentHash(chunk.text).description), SQLBind(chunk.curated), SQLBind(sources), SQLBind(model),
                                       SQLBind(chunk.embedding.count), embeddingValue(chunk.embedding), SQLBind(now))
            }
            try await insert.run()
        }
        try await logChanges(personaId: personaId, chunkIds: chunks.map(\.id), deleted: false, now: now, on: db)
    }

    private func embeddingValue(_ vector: [Float]) -> any SQLExpression {
        switch kind {
        case .postgres: return SQLQueryString("\(bind: VectorCoding.pgText(vector))::vector")
        case .sqlite: return SQLBind(VectorCoding.blob(vector))
        }
    }

    /// Vectors already stored under `model` for any of `texts` (by content hash, confirmed by
    /// the text itself): the database is the persistent embedding cache, so re-ingesting
    /// the same text never recomputes its embedding.
    package func storedVectors(for texts: [String], model: String, on db: any SQLDatabase) async throws -> [String: [Float]] {
        let hashes = Array(Set(texts.map { ContentHash($0).description }))
        guard !hashes.isEmpty else { return [:] }
        var found: [String: [Float]] = [:]
        let wanted = Set(texts)
        for batch in hashes.chunked(into: 500) {
            let vector = kind == .postgres ? "embedding::text AS embedding_text" : "embedding"
            let rows = try await db.raw("""
                SELECT text, \(unsafeRaw: vector) FROM chunks
                WHERE embedding_model = \(bind: model) AND text_hash IN \(SQLBind.group(Array(batch)))
                """).all()
            for row in rows {
                let text = try row.decode(column: "text", as: String.self)
                guard wanted.contains(text), found[text] == nil else { continue }
                found[text] = kind == .postgres
                    ? VectorCoding.parsePG(try row.decode(column: "embedding_text", as: String.self))
                    : VectorCoding.floats(try row.decode(column: "embedding", as: ByteBuffer.self))
            }
        }
        return found
    }

    /// Deletes a document's chunks, logging their deletion. Returns how many went.
    @discardableResult
    package func deleteChunks(documentId: String, personaId: String, now: Date, on db: any SQLDatabase) async throws -> Int {
        let ids = try await db.select().column("id").from("chunks").where("document_id", .equal, documentId).all()
            .map { try $0.decode(column: "id", as: String.self) }
        guard !ids.isEmpty else { return 0 }
        try await db.delete(from: "chunks").where("document_id", .equal, documentId).run()
        try await logChanges(personaId: personaId, chunkIds: ids, deleted: true, now: now, on: db)
        return ids.count
    }

    /// Replaces the embedding of existing chunks (after a model change), logging the update.
    package func updateEmbeddings(_ updates: [(id: String, vector: [Float])], personaId: String, model: String, now: Date,
                          on db: any SQLDatabase) async throws {
        for update in updates {
            try await db.update("chunks").set("embedding_model", to: model).set("embedding_dim", to: update.vector.count)
                .set(SQLIdentifier("embedding"), to: embeddingValue(update.vector)).where("id", .equal, update.id).run()
        }
        try await logChanges(personaId: personaId, chunkIds: updates.map(\.id), deleted: false, now: now, on: db)
    }

    /// The latest version of a persona's change log (0 when empty).
    package func latestVersion(personaId: String, on db: any SQLDatabase) async throws -> Int64 {
        let row = try await db.raw("SELECT MAX(version) AS v FROM memory_changes WHERE persona_id = \(bind: personaId)").first()
        return try row?.decode(column: "v", as: Int64?.self) ?? 0
    }

    /// Changes after `version`, oldest first, each chunk once (its latest change), with the
    /// chunk's current row when it still exists.
    package func changes(personaId: String, after version: Int64, limit: Int, on db: any SQLDatabase) async throws -> [ChunkChange] {
        let vector = kind == .postgres ? "c.embedding::text AS embedding_text" : "c.embedding"
        let rows = try await db.raw("""
            SELECT m.version, m.chunk_id, c.id AS present, c.document_id, c.is_curated, c.text, c.embedding_model,
                   d.name AS document_name, \(unsafeRaw: vector)
            FROM memory_changes m
            LEFT JOIN chunks c ON c.id = m.chunk_id
            LEFT JOIN documents d ON d.id = c.document_id
            WHERE m.persona_id = \(bind: personaId) AND m.version > \(bind: version)
            ORDER BY m.version LIMIT \(bind: limit)
            """).all()
        var changes: [ChunkChange] = []
        var position: [String: Int] = [:]
        for row in rows {
            let chunkId = try row.decode(column: "chunk_id", as: String.self)
            var change = ChunkChange(version: try row.decode(column: "version", as: Int64.self), chunkId: chunkId)
            if try row.decode(column: "present", as: String?.self) != nil {
                change.documentId = try row.decode(column: "document_id", as: String?.self)
                change.documentName = try row.decode(column: "document_name", as: String?.self)
                change.curated = try row.decode(column: "is_curated", as: Bool.self)
                change.text = try row.decode(column: "text", as: String.self)
                change.model = try row.decode(column: "embedding_model", as: String.self)
                change.vector = kind == .postgres
                    ? VectorCoding.parsePG(try row.decode(column: "embedding_text", as: String.self))
                    : VectorCoding.floats(try row.decode(column: "embedding", as: ByteBuffer.self))
            }
            if let earlier = position[chunkId] { changes[earlier].superseded = true }
            position[chunkId] = changes.count
            changes.append(change)
        }
        return changes
    }

    /// Chunk rows (with their document's name) by id, in no particular order.
    package func chunks(ids: [String], on db: any SQLDatabase) async throws -> [MemoryChunk] {
        guard !ids.isEmpty else { return [] }
        return try await db.select()
            .columns(SQLColumn(SQLLiteral.all, table: SQLIdentifier("c")), SQLAlias(SQLColumn("name", table: "d"), as: "document_name"))
            .from(SQLAlias(SQLIdentifier("chunks"), as: SQLIdentifier("c")))
            .join(SQLAlias(SQLIdentifier("documents"), as: SQLIdentifier("d")), method: SQLJoinMethod.left,
                  on: SQLColumn("document_id", table: "c"), .equal, SQLColumn("id", table: "d"))
            .where(SQLColumn("id", table: "c"), .in, SQLBind.group(ids))
            .all().map(MemoryChunk.init(row:))
    }

    /// A persona's chunks of a document, in order (for the API).
    package func chunks(documentId: String, limit: Int, on db: any SQLDatabase) async throws -> [MemoryChunk] {
        try await db.raw("""
            SELECT c.*, d.name AS document_name FROM chunks c LEFT JOIN documents d ON d.id = c.document_id
            WHERE c.document_id = \(bind: documentId) ORDER BY c.chunk_index LIMIT \(bind: limit)
            """).all().map(MemoryChunk.init(row:))
    }

    package init(kind: SQLDialectKind) {
        self.kind = kind
    }
}

/// One entry of a persona's memory change log, as the caches consume it.
package struct ChunkChange: Sendable {
    package var version: Int64
    package var chunkId: String
    /// A later entry of the same page touches this chunk again: skip this one.
    package var superseded = false
    package var documentId: String?
    package var documentName: String?
    package var curated = false
    package var text: String?
    package var model: String?
    /// `nil` when the chunk no longer exists (deleted).
    package var vector: [Float]?
}

extension Array {
    package func chunked(into size: Int) -> [ArraySlice<Element>] {
        stride(from: 0, to: count, by: size).map { self[$0..<Swift.min($0 + size, count)] }
    }
}
