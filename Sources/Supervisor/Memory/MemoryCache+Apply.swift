#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import PersonaKit
import PersonaCore

extension MemoryCache {
    /// What applying one page did.
    public struct ApplyOutcome: Sendable, Hashable {
        /// `false` when the cursor was no longer `after` (another sync got there first): nothing
        /// was written and the caller continues from the current cursor.
        public var applied: Bool
        public var upserted = 0
        public var deleted = 0
        /// The response named another model than the cache had: every cached vector was dropped.
        public var modelChanged = false
        /// The cursor after the page.
        public var version: Int64
    }

    /// Applies one page of the change log fetched with `?after=after`, in one transaction:
    /// deleted entries drop the chunk (and its FTS row), others are upserted; a vector is kept
    /// only when the entry's model is the response's and its size matches the dimension (the
    /// text is kept either way, for full-text search). A new model drops every cached vector
    /// and query embedding of the old one. Then the cursor moves to `nextVersion`.
    /// - Throws: ``SupervisorError`` `storage_error` (the page is rolled back).
    @discardableResult
    public func apply(_ page: MemoryChangesResponse, after: Int64, at date: Date = Date()) throws(SupervisorError) -> ApplyOutcome {
        try state.withLock { state throws(SupervisorError) in
            var outcome = ApplyOutcome(applied: false, version: after)
            var indexChanges: [(chunkId: String, vector: [Float]?, curated: Bool)] = []
            try db.transaction { () throws(SupervisorError) in
                let meta = try readMeta()
                guard meta.version == after else {
                    outcome.version = meta.version
                    return
                }
                outcome.applied = true
                if meta.model != page.model || meta.dimension != page.dimension {
                    outcome.modelChanged = meta.model != nil
                    try db.execute("UPDATE chunks SET vector = NULL, dim = NULL WHERE vector IS NOT NULL")
                    try db.execute("DELETE FROM query_embeddings WHERE model IS NOT ?", [.text(page.model)])
                    try db.execute("UPDATE meta SET model = ?, dimension = ? WHERE id = 1",
                                   [.text(page.model), .integer(Int64(page.dimension))])
                }
                for entry in page.changes {
                    if entry.deleted {
                        try db.execute("DELETE FROM chunks WHERE chunk_id = ?", [.text(entry.chunkId)])
                        outcome.deleted += 1
                        indexChanges.append((entry.chunkId, nil, false))
                        continue
                    }
                    let vector = Self.vectorBytes(of: entry, model: page.model, dimension: page.dimension)
                    try upsert(entry, vector: vector)
                    outcome.upserted += 1
                    indexChanges.append((entry.chunkId, vector.flatMap(MemoryVector.floats), entry.curated))
                }
                let next = max(page.nextVersion, after)
                try db.execute("UPDATE meta SET version = ?, synced_at = ? WHERE id = 1",
                               [.integer(next), .real(date.timeIntervalSince1970)])
                outcome.version = next
            }
            guard outcome.applied else { return outcome }
            if outcome.modelChanged || state.index?.model != page.model || state.index?.dimension != page.dimension {
                state.index = nil
            } else if state.index != nil {
                for change in indexChanges {
                    if let vector = change.vector {
                        state.index?.upsert(id: change.chunkId, vector: vector, curated: change.curated)
                    } else {
                        state.index?.remove(id: change.chunkId)
                    }
                }
            }
            return outcome
        }
    }

    private func upsert(_ entry: MemoryChangeEntry, vector: [UInt8]?) throws(SupervisorError) {
        try db.execute("""
            INSERT INTO chunks (chunk_id, document_id, document_name, curated, text, model, dim, vector, version)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
            ON CONFLICT (chunk_id) DO UPDATE SET
                document_id = excluded.document_id, document_name = excluded.document_name, curated = excluded.curated,
                text = excluded.text, model = excluded.model, dim = excluded.dim, vector = excluded.vector,
                version = excluded.version
            """, [
                .text(entry.chunkId), entry.documentId.map(SQLiteValue.text) ?? .null,
                entry.documentName.map(SQLiteValue.text) ?? .null, .integer(entry.curated ? 1 : 0), .text(entry.text ?? ""),
                entry.model.map(SQLiteValue.text) ?? .null, vector == nil ? .null : .integer(Int64((vector?.count ?? 0) / 4)),
                vector.map(SQLiteValue.bytes) ?? .null, .integer(entry.version),
            ])
    }

    /// The entry's vector as little-endian float32 bytes, when it is of `model` and `dimension`.
    static func vectorBytes(of entry: MemoryChangeEntry, model: String, dimension: Int) -> [UInt8]? {
        guard entry.model == model, let text = entry.vector, let data = Data(base64Encoded: text),
              dimension > 0, data.count == dimension * 4 else { return nil }
        return Array(data)
    }
}
