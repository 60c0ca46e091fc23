extension Database {
    /// Migration 6: document memory. `documents` (uploads and their ingestion queue), `chunks`
    /// (text, offsets and one embedding each, stamped with the model that made it) and
    /// `memory_changes` (a per-persona change log whose version is the sync cursor of the
    /// in-container caches and of the SQLite vector index). PostgreSQL keeps vectors in a
    /// pgvector column with a partial HNSW index per dimension; SQLite keeps them as
    /// little-endian float32 blobs. Kept in step with docs/data-model.md.
    package static let memorySchema = Migration(version: 6, name: "memory") { t in
        var statements = t.kind == .postgres ? ["CREATE EXTENSION IF NOT EXISTS vector"] : []
        statements += [
            """
            CREATE TABLE documents (
              id TEXT PRIMARY KEY, persona_id TEXT NOT NULL REFERENCES personas(id) ON DELETE CASCADE,
              name TEXT NOT NULL, content_type TEXT, size_bytes \(t.bigint) NOT NULL, sha256 TEXT NOT NULL,
              format TEXT, status TEXT NOT NULL, error TEXT, chunk_count INTEGER NOT NULL, attempts INTEGER NOT NULL,
              lease_owner TEXT, lease_expires_at \(t.time), uploaded_by TEXT, trace_id TEXT,
              created_at \(t.time) NOT NULL, updated_at \(t.time) NOT NULL, processed_at \(t.time))
            """,
            "CREATE INDEX documents_persona_idx ON documents (persona_id, id)",
            "CREATE INDEX documents_queue_idx ON documents (status, id)",
            """
            CREATE TABLE chunks (
              id TEXT PRIMARY KEY, persona_id TEXT NOT NULL REFERENCES personas(id) ON DELETE CASCADE,
              document_id TEXT REFERENCES documents(id) ON DELETE CASCADE,
              chunk_index INTEGER NOT NULL, text TEXT NOT NULL, start_offset INTEGER, end_offset INTEGER,
              token_count INTEGER NOT NULL, text_hash TEXT NOT NULL, is_curated \(t.bool) NOT NULL, source_chunk_ids TEXT,
              curated_into TEXT,
              embedding_model TEXT NOT NULL, embedding_dim INTEGER NOT NULL,
              embedding \(t.kind == .postgres ? "vector" : "BLOB") NOT NULL,
              created_at \(t.time) NOT NULL)
            """,
            "CREATE INDEX chunks_persona_idx ON chunks (persona_id, is_curated, id)",
            "CREATE INDEX chunks_document_idx ON chunks (document_id, chunk_index)",
            // Stored vectors double as a persistent embedding cache: same model, same text, same vector.
            "CREATE INDEX chunks_text_hash_idx ON chunks (embedding_model, text_hash)",
            """
            CREATE TABLE memory_changes (
              persona_id TEXT NOT NULL REFERENCES personas(id) ON DELETE CASCADE, version \(t.bigint) NOT NULL,
              chunk_id TEXT NOT NULL, deleted \(t.bool) NOT NULL, created_at \(t.time) NOT NULL,
              PRIMARY KEY (persona_id, version))
            """,
        ]
        if t.kind == .postgres {
            // all-MiniLM-L6-v2's 384 dimensions; the cast makes one column hold any model's vectors.
            statements.append(Self.hnswIndexStatement(dimension: 384))
        }
        return statements
    }

    /// The partial HNSW (cosine) index serving vectors of one dimension on PostgreSQL.
    package static func hnswIndexStatement(dimension: Int) -> String {
        """
        CREATE INDEX IF NOT EXISTS chunks_hnsw_\(dimension) ON chunks
          USING hnsw ((embedding::vector(\(dimension))) vector_cosine_ops) WHERE embedding_dim = \(dimension)
        """
    }
}
