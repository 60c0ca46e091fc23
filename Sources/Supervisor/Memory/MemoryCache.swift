#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import PersonaKit
import Synchronization
import PersonaCore

/// The persona's memory chunks copied into the container (`/cache/memory.db`, beside
/// `supervisor.db`), so `memory_search` answers from local data and still answers when the
/// control plane is away. A separate file because it is disposable (deleting it only costs a
/// full re-sync) while the journal and outbox are not, and a bulk sync must not hold up
/// journal writes.
///
/// Tables: `chunks` (one row per chunk, its vector little-endian float32 when it was made by
/// the current model), `chunks_fts` (FTS5 over `chunks.text`, external content kept in step by
/// triggers), `meta` (one row: the sync cursor, the current model, its dimension, the last
/// successful sync) and `query_embeddings` ((model, query text) -> vector).
///
/// Every method runs under one lock, which also guards the in-memory ``VectorIndex``: SQLite
/// calls are short and synchronous, so a sync page and a search never see each other half done.
public final class MemoryCache: Sendable {
    struct State: ~Copyable {
        /// The vectors of ``meta``'s model, loaded on the first vector search, kept in step by
        /// ``apply(_:after:)`` and dropped when the model changes.
        var index: VectorIndex?
    }

    /// What `meta` holds.
    public struct Meta: Sendable, Hashable {
        public var version: Int64
        public var model: String?
        public var dimension: Int?
        public var syncedAt: Date?
    }

    /// Query embeddings kept, newest first; older ones are evicted.
    static let queryEmbeddingLimit = 2000

    let db: SQLiteDatabase
    let state = Mutex(State())

    /// Opens (creating) the cache at `path` and brings its schema up to date.
    /// - Throws: ``SupervisorError`` `storage_error` (also when this libsqlite3 lacks FTS5).
    public init(path: String) throws(SupervisorError) {
        db = try SQLiteDatabase(path: path)
        do {
            try Self.migrate(db)
        } catch {
            db.close()
            throw error
        }
    }

    /// Closes the database; later calls fail with `storage_error`.
    public func close() {
        db.close()
    }

    private static func migrate(_ db: SQLiteDatabase) throws(SupervisorError) {
        let version = try db.execute("PRAGMA user_version").first?.first?.integer ?? 0
        guard version < 1 else { return }
        try db.transaction { () throws(SupervisorError) in
            // An explicit integer key: FTS5 external content is addressed by rowid, and VACUUM
            // may renumber the implicit rowid of a table keyed by text.
            try db.execute("""
                CREATE TABLE chunks (
                    id INTEGER PRIMARY KEY,
                    chunk_id TEXT NOT NULL UNIQUE,
                    document_id TEXT,
                    document_name TEXT,
                    curated INTEGER NOT NULL DEFAULT 0,
                    text TEXT NOT NULL,
                    model TEXT,
                    dim INTEGER,
                    vector BLOB,
                    version INTEGER NOT NULL
                )
                """)
            try db.execute("""
                CREATE VIRTUAL TABLE chunks_fts USING fts5(
                    text, content='chunks', content_rowid='id', tokenize='porter unicode61 remove_diacritics 2')
                """)
            try db.execute("""
                CREATE TRIGGER chunks_fts_insert AFTER INSERT ON chunks BEGIN
                    INSERT INTO chunks_fts (rowid, text) VALUES (new.id, new.text);
                END
                """)
            try db.execute("""
                CREATE TRIGGER chunks_fts_delete AFTER DELETE ON chunks BEGIN
                    INSERT INTO chunks_fts (chunks_fts, rowid, text) VALUES ('delete', old.id, old.text);
                END
                """)
            try db.execute("""
                CREATE TRIGGER chunks_fts_update AFTER UPDATE OF text ON chunks WHEN old.text IS NOT new.text BEGIN
                    INSERT INTO chunks_fts (chunks_fts, rowid, text) VALUES ('delete', old.id, old.text);
                    INSERT INTO chunks_fts (rowid, text) VALUES (new.id, new.text);
                END
                """)
            try db.execute("""
                CREATE TABLE meta (
                    id INTEGER PRIMARY KEY CHECK (id = 1),
                    version INTEGER NOT NULL,
                    model TEXT,
                    dimension INTEGER,
                    synced_at REAL
                )
                """)
            try db.execute("INSERT INTO meta (id, version) VALUES (1, 0)")
            try db.execute("""
                CREATE TABLE query_embeddings (
                    model TEXT NOT NULL,
                    query TEXT NOT NULL,
                    vector BLOB NOT NULL,
                    created_at REAL NOT NULL,
                    PRIMARY KEY (model, query)
                ) WITHOUT ROWID
                """)
            try db.execute("CREATE INDEX query_embeddings_created ON query_embeddings (created_at)")
            try db.execute("PRAGMA user_version = 1")
        }
    }

    /// The sync cursor, model and last successful sync.
    public func meta() throws(SupervisorError) -> Meta {
        try state.withLock { _ throws(SupervisorError) in try readMeta() }
    }

    /// Chunks cached, and how many of them carry a vector of the current model.
    public func counts() throws(SupervisorError) -> (chunks: Int, vectors: Int) {
        try state.withLock { _ throws(SupervisorError) in
            let meta = try readMeta()
            let row = try db.execute("SELECT COUNT(*), COUNT(vector) FILTER (WHERE model IS ?) FROM chunks",
                                     [meta.model.map(SQLiteValue.text) ?? .null]).first
            return (Int(row?[0].integer ?? 0), Int(row?[1].integer ?? 0))
        }
    }

    /// Whether any chunk carries a vector of the current model (a vector search can answer).
    public func hasVectors() throws(SupervisorError) -> Bool {
        try state.withLock { state throws(SupervisorError) in
            if let index = state.index { return index.count > 0 }
            let meta = try readMeta()
            guard let model = meta.model else { return false }
            return try !db.execute("SELECT 1 FROM chunks WHERE model = ? AND vector IS NOT NULL LIMIT 1", [.text(model)]).isEmpty
        }
    }

    /// The cached embedding of `query` under `model`, if any.
    public func cachedQueryVector(model: String, query: String) throws(SupervisorError) -> [Float]? {
        try state.withLock { _ throws(SupervisorError) in
            let rows = try db.execute("SELECT vector FROM query_embeddings WHERE model = ? AND query = ?",
                                      [.text(model), .text(query)])
            return rows.first?.first?.bytes.flatMap(MemoryVector.floats)
        }
    }

    /// Remembers the embedding of `query` under `model` (evicting the oldest beyond
    /// ``queryEmbeddingLimit``).
    public func storeQueryVector(_ vector: [Float], model: String, query: String, at date: Date = Date()) throws(SupervisorError) {
        try state.withLock { _ throws(SupervisorError) in
            try db.execute(
                "INSERT OR REPLACE INTO query_embeddings (model, query, vector, created_at) VALUES (?, ?, ?, ?)",
                [.text(model), .text(query), .bytes(MemoryVector.bytes(vector)), .real(date.timeIntervalSince1970)])
            try db.execute("""
                DELETE FROM query_embeddings WHERE created_at <
                    (SELECT created_at FROM query_embeddings ORDER BY created_at DESC LIMIT 1 OFFSET ?)
                """, [.integer(Int64(Self.queryEmbeddingLimit - 1))])
        }
    }

    /// Reads `meta`; call with the lock held.
    func readMeta() throws(SupervisorError) -> Meta {
        let row = try db.execute("SELECT version, model, dimension, synced_at FROM meta WHERE id = 1").first
        return Meta(version: row?[0].integer ?? 0, model: row?[1].text, dimension: row?[2].integer.map { Int($0) },
                    syncedAt: row?[3].real.map { Date(timeIntervalSince1970: $0) })
    }
}
