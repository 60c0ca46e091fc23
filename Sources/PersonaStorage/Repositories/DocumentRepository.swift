import Foundation
import SQLKit

/// `documents` access, including the ingestion queue: a document is claimed with a lease the
/// worker extends while it works; an expired lease (its worker died) is up for grabs again.
package struct DocumentRepository: Sendable {
    package func insert(_ document: MemoryDocument, on db: any SQLDatabase) async throws {
        try await db.insert(into: "documents")
            .columns("id", "persona_id", "name", "content_type", "size_bytes", "sha256", "status", "chunk_count",
                     "attempts", "uploaded_by", "trace_id", "created_at", "updated_at")
            .values(SQLBind(document.id), SQLBind(document.personaId), SQLBind(document.name), SQLBind(document.contentType),
                    SQLBind(document.sizeBytes), SQLBind(document.sha256), SQLBind(document.status.rawValue),
                    SQLBind(0), SQLBind(0), SQLBind(document.uploadedBy), SQLBind(document.traceId),
                    SQLBind(document.createdAt), SQLBind(document.updatedAt))
            .run()
    }

    package func find(id: String, personaId: String, on db: any SQLDatabase) async throws -> MemoryDocument? {
        try await db.select().column("*").from("documents").where("id", .equal, id).where("persona_id", .equal, personaId)
            .first().map(MemoryDocument.init(row:))
    }

    /// A persona's documents, newest first, `limit + 1` rows so the caller can page.
    package func list(personaId: String, cursor: String?, limit: Int, on db: any SQLDatabase) async throws -> [MemoryDocument] {
        var query = db.select().column("*").from("documents").where("persona_id", .equal, personaId)
        if let cursor { query = query.where("id", .lessThan, cursor) }
        return try await query.orderBy("id", .descending).limit(limit + 1).all().map(MemoryDocument.init(row:))
    }

    /// Whether another document of the persona still uses the stored file `sha256`.
    package func isReferenced(sha256: String, on db: any SQLDatabase) async throws -> Bool {
        try await db.select().column("id").from("documents").where("sha256", .equal, sha256).limit(1).first() != nil
    }

    /// Claims the oldest document waiting for ingestion: pending, or processing with an
    /// expired lease. The attempt counter lets the worker give up on a document that keeps
    /// killing its worker.
    package func claim(owner: String, leaseSeconds: Double, now: Date, on db: any SQLDatabase, kind: SQLDialectKind) async throws -> MemoryDocument? {
        let lock = kind == .postgres ? " FOR UPDATE SKIP LOCKED" : ""
        guard let row = try await db.raw("""
            SELECT id FROM documents
            WHERE status = 'pending' OR (status = 'processing' AND lease_expires_at < \(bind: now))
            ORDER BY id LIMIT 1\(unsafeRaw: lock)
            """).first() else { return nil }
        let id = try row.decode(column: "id", as: String.self)
        return try await db.update("documents")
            .set("status", to: DocumentStatus.processing.rawValue).set("lease_owner", to: owner)
            .set("lease_expires_at", to: now.addingTimeInterval(leaseSeconds)).set("updated_at", to: now)
            .set(SQLIdentifier("attempts"), to: SQLRaw("attempts + 1"))
            .where("id", .equal, id)
            .where { $0.where("status", .equal, DocumentStatus.pending.rawValue).orWhere("lease_expires_at", .lessThan, now) }
            .returning("*").first().map(MemoryDocument.init(row:))
    }

    /// Extends the lease while `owner` holds it; false when it was lost (or the document deleted).
    package func extendLease(id: String, owner: String, leaseSeconds: Double, now: Date, on db: any SQLDatabase) async throws -> Bool {
        try await db.update("documents").set("lease_expires_at", to: now.addingTimeInterval(leaseSeconds))
            .where("id", .equal, id).where("lease_owner", .equal, owner)
            .where("status", .equal, DocumentStatus.processing.rawValue)
            .returning("id").first() != nil
    }

    /// Ends ingestion (completed or failed) if `owner` still holds the lease.
    package func finish(id: String, owner: String, status: DocumentStatus, format: String?, chunkCount: Int, error: String?,
                now: Date, on db: any SQLDatabase) async throws -> Bool {
        try await db.update("documents").set("status", to: status.rawValue).set("format", to: format)
            .set("chunk_count", to: chunkCount).set("error", to: error).set("processed_at", to: now).set("updated_at", to: now)
            .set("lease_owner", to: SQLLiteral.null).set("lease_expires_at", to: SQLLiteral.null)
            .where("id", .equal, id).where("lease_owner", .equal, owner)
            .returning("id").first() != nil
    }

    package func delete(id: String, on db: any SQLDatabase) async throws -> Bool {
        try await db.delete(from: "documents").where("id", .equal, id).returning("id").first() != nil
    }

    package init() {

    }

    /// Failed documents updated since `since`, by persona (the `documents_queue_idx` on
    /// (status, id) bounds it to failed rows).
    package func failures(since: Date, on db: any SQLDatabase) async throws -> [String: Int] {
        var out: [String: Int] = [:]
        for row in try await db.select().column("persona_id").column(SQLFunction("count", args: SQLLiteral.all), as: "n")
            .from("documents").where("status", .equal, "failed").where("updated_at", .greaterThanOrEqual, since)
            .groupBy("persona_id").all() {
            out[try row.decode(column: "persona_id", as: String.self)] = try row.decode(column: "n", as: Int.self)
        }
        return out
    }
}
