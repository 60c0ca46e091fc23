import CSQLite
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// SQLite's online backup API (`sqlite3_backup_*`) and the file checks a backup and a restore
/// need, on connections of their own (never a pool's).
public enum SQLiteBackup {
    /// Copies the database at `source` into a new file at `destination` while other connections,
    /// in this process or another, keep reading and writing it.
    ///
    /// All pages are copied in one step, inside one read transaction: in WAL mode that reader
    /// blocks no writer and sees one committed state, so the copy is consistent and the step is
    /// never restarted by a write (a step-by-step copy starts over after each one). The copy
    /// leaves WAL mode (a single self-contained file; whoever opens it may switch back) and
    /// must pass `PRAGMA quick_check`.
    /// - Parameters:
    ///   - source: an existing database file (its `-wal`, if any, is read through SQLite).
    ///   - destination: a path where no file exists yet.
    ///   - busyTimeoutMilliseconds: how long to wait for a lock (a WAL recovery, a checkpoint).
    /// - Throws: ``SQLiteError`` when either file cannot be opened, the copy fails or the copy
    ///   does not check out.
    public static func copy(from source: String, to destination: String, busyTimeoutMilliseconds: Int32 = 10_000) throws(SQLiteError) {
        let from = try openDatabase(source, create: false)
        defer { sqlite3_close_v2(from) }
        let to = try openDatabase(destination, create: true)
        defer { sqlite3_close_v2(to) }
        sqlite3_busy_timeout(from, busyTimeoutMilliseconds)
        sqlite3_busy_timeout(to, busyTimeoutMilliseconds)
        guard let backup = sqlite3_backup_init(to, "main", from, "main") else { throw .last(to) }
        var rc = SQLITE_OK
        var waited: Int32 = 0
        repeat {
            rc = sqlite3_backup_step(backup, -1)
            if rc == SQLITE_BUSY || rc == SQLITE_LOCKED {
                guard waited < busyTimeoutMilliseconds else { break }
                usleep(20_000)
                waited += 20
            }
        } while rc == SQLITE_OK || rc == SQLITE_BUSY || rc == SQLITE_LOCKED
        let finished = sqlite3_backup_finish(backup)
        guard rc == SQLITE_DONE, finished == SQLITE_OK else {
            throw SQLiteError(code: rc == SQLITE_DONE ? finished : rc, message: "backup of \(source) failed: \(String(cString: sqlite3_errmsg(to)))")
        }
        try execute(to, "PRAGMA journal_mode = DELETE")
        let check = try execute(to, "PRAGMA quick_check")
        guard check == ["ok"] else {
            throw SQLiteError(code: SQLITE_CORRUPT, message: "the copy of \(source) fails quick_check: \(check.prefix(3).joined(separator: "; "))")
        }
    }

    /// Whether another connection (a running control plane, a supervisor) has the file open:
    /// asks for SQLite's exclusive lock without waiting and gives it back at once. In WAL mode
    /// every open connection holds a shared lock, so an idle pool counts too.
    /// - Returns: `false` when the file does not exist.
    /// - Throws: ``SQLiteError`` when the file is not a database.
    public static func isOpenElsewhere(_ path: String) throws(SQLiteError) -> Bool {
        guard access(path, F_OK) == 0 else { return false }
        let db = try openDatabase(path, create: false)
        defer { sqlite3_close_v2(db) }
        sqlite3_busy_timeout(db, 0)
        try execute(db, "PRAGMA locking_mode = EXCLUSIVE")
        do {
            try execute(db, "BEGIN EXCLUSIVE")
        } catch {
            if error.primaryCode == SQLITE_BUSY || error.primaryCode == SQLITE_LOCKED { return true }
            throw error
        }
        try execute(db, "COMMIT")
        return false
    }

    /// Whether the file at `path` starts with SQLite's header (`SQLite format 3\0`). Opened
    /// without following a link and without blocking (a FIFO answers `false`).
    public static func isDatabaseFile(_ path: String) -> Bool {
        let fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var status = stat()
        guard fstat(fd, &status) == 0, (status.st_mode & S_IFMT) == S_IFREG else { return false }
        var header = [UInt8](repeating: 0, count: 16)
        let count = header.withUnsafeMutableBytes { read(fd, $0.baseAddress, 16) }
        return count == 16 && header == Array("SQLite format 3".utf8) + [0]
    }

    private static func openDatabase(_ path: String, create: Bool) throws(SQLiteError) -> OpaquePointer {
        var db: OpaquePointer?
        let flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX | (create ? SQLITE_OPEN_CREATE : 0)
        let rc = sqlite3_open_v2(path, &db, flags, nil)
        guard rc == SQLITE_OK, let db else {
            let error = SQLiteError(code: rc, message: db.map { String(cString: sqlite3_errmsg($0)) } ?? "cannot open \(path)")
            sqlite3_close_v2(db)
            throw error
        }
        sqlite3_extended_result_codes(db, 1)
        return db
    }

    /// Runs `sql` and returns the first column of its rows as text.
    @discardableResult
    private static func execute(_ db: OpaquePointer, _ sql: String) throws(SQLiteError) -> [String] {
        var statement: OpaquePointer?
        guard sqlite3_prepare_v2(db, sql, -1, &statement, nil) == SQLITE_OK, let statement else { throw .last(db) }
        defer { sqlite3_finalize(statement) }
        var rows: [String] = []
        while true {
            let rc = sqlite3_step(statement)
            if rc == SQLITE_DONE { return rows }
            guard rc == SQLITE_ROW else { throw .last(db) }
            rows.append(sqlite3_column_text(statement, 0).map { String(cString: $0) } ?? "")
        }
    }
}
