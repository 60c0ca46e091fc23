import PersonaCore
/// The supervisor's SQLite file under the cache volume (`/cache/supervisor.db`): the
/// idempotency journal and the report outbox. Migrations are versioned by `user_version`.
public enum SupervisorStore {
    /// Opens the database at `path` and brings its schema up to date.
    public static func open(path: String) throws(SupervisorError) -> SQLiteDatabase {
        let db = try SQLiteDatabase(path: path)
        let version = try db.execute("PRAGMA user_version").first?.first?.integer ?? 0
        if version < 1 {
            try db.execute("""
                CREATE TABLE IF NOT EXISTS invocations (
                    id TEXT PRIMARY KEY,
                    tool TEXT NOT NULL,
                    idempotency_key TEXT UNIQUE,
                    arguments_digest TEXT NOT NULL,
                    status TEXT NOT NULL,
                    trace_id TEXT NOT NULL,
                    started_at REAL NOT NULL,
                    finished_at REAL,
                    duration_ms INTEGER,
                    result BLOB
                )
                """)
            try db.execute("CREATE INDEX IF NOT EXISTS invocations_started ON invocations (started_at)")
            try db.execute("""
                CREATE TABLE IF NOT EXISTS outbox (
                    seq INTEGER PRIMARY KEY AUTOINCREMENT,
                    path TEXT NOT NULL,
                    body BLOB NOT NULL,
                    created_at REAL NOT NULL,
                    attempts INTEGER NOT NULL DEFAULT 0
                )
                """)
            try db.execute("PRAGMA user_version = 1")
        }
        return db
    }
}
