import CSQLite
import Synchronization

/// A value bound to or read from a SQLite statement.
public enum SQLiteValue: Sendable, Hashable {
    case null
    case integer(Int64)
    case real(Double)
    case text(String)
    case blob([UInt8])

    var text: String? { if case .text(let value) = self { return value }; return nil }
    var integer: Int64? { if case .integer(let value) = self { return value }; return nil }
    var real: Double? {
        switch self {
        case .real(let value): value
        case .integer(let value): Double(value)
        default: nil
        }
    }
    var blob: [UInt8]? {
        switch self {
        case .blob(let value): value
        case .text(let value): Array(value.utf8)
        default: nil
        }
    }
}

/// One SQLite connection (the system's libsqlite3) behind a lock. Every statement is short,
/// so callers run it synchronously; that also makes check-then-insert sequences atomic for
/// an actor that calls them without suspending.
public final class SQLiteDatabase: Sendable {
    /// `sqlite3 *`, only touched under the lock.
    private struct Handle: ~Copyable {
        var db: OpaquePointer?
    }

    private let handle: Mutex<Handle>
    public let path: String

    /// Opens (creating) the database at `path` in WAL mode.
    /// - Throws: ``SupervisorError`` `storage_error`.
    public init(path: String) throws(SupervisorError) {
        var db: OpaquePointer?
        let rc = sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX, nil)
        guard rc == SQLITE_OK else {
            let message = db.map { String(cString: sqlite3_errmsg($0)) } ?? "code \(rc)"
            sqlite3_close(db)
            throw SupervisorError("storage_error", "could not open \(path)", underlying: SQLiteFailure(message: message))
        }
        sqlite3_busy_timeout(db, 5000)
        self.path = path
        self.handle = Mutex(Handle(db: db))
        try execute("PRAGMA journal_mode=WAL")
        try execute("PRAGMA synchronous=NORMAL")
    }

    /// Closes the connection; later calls fail.
    public func close() {
        handle.withLock { handle in
            sqlite3_close_v2(handle.db)
            handle.db = nil
        }
    }

    /// Runs one statement and returns its rows.
    @discardableResult
    public func execute(_ sql: String, _ bindings: [SQLiteValue] = []) throws(SupervisorError) -> [[SQLiteValue]] {
        let outcome: Result<[[SQLiteValue]], SupervisorError> = handle.withLock { handle in
            guard let db = handle.db else { return .failure(SupervisorError("storage_error", "database is closed")) }
            return Self.run(db, sql, bindings)
        }
        return try outcome.get()
    }

    /// The rowid of the last insert on this connection.
    public func lastInsertRowID() -> Int64 {
        handle.withLock { handle in handle.db.map { sqlite3_last_insert_rowid($0) } ?? 0 }
    }

    /// Runs `body` inside `BEGIN IMMEDIATE ... COMMIT` (rolled back when it throws).
    public func transaction<T>(_ body: () throws(SupervisorError) -> T) throws(SupervisorError) -> T {
        try execute("BEGIN IMMEDIATE")
        do {
            let value = try body()
            try execute("COMMIT")
            return value
        } catch {
            _ = try? execute("ROLLBACK")
            throw error
        }
    }

    private static func run(_ db: OpaquePointer, _ sql: String, _ bindings: [SQLiteValue]) -> Result<[[SQLiteValue]], SupervisorError> {
        var statement: OpaquePointer?
        guard sqlite3_prepare_v2(db, sql, -1, &statement, nil) == SQLITE_OK else {
            return .failure(failure(db, "prepare"))
        }
        defer { sqlite3_finalize(statement) }
        let transient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)
        for (offset, value) in bindings.enumerated() {
            let index = Int32(offset + 1)
            switch value {
            case .null: sqlite3_bind_null(statement, index)
            case .integer(let v): sqlite3_bind_int64(statement, index, v)
            case .real(let v): sqlite3_bind_double(statement, index, v)
            case .text(let v): sqlite3_bind_text(statement, index, v, -1, transient)
            case .blob(let v):
                v.withUnsafeBytes { raw in
                    _ = sqlite3_bind_blob(statement, index, raw.baseAddress, Int32(raw.count), transient)
                }
            }
        }
        var rows: [[SQLiteValue]] = []
        while true {
            let rc = sqlite3_step(statement)
            if rc == SQLITE_DONE { break }
            guard rc == SQLITE_ROW else { return .failure(failure(db, "step")) }
            var row: [SQLiteValue] = []
            for column in 0..<sqlite3_column_count(statement) {
                switch sqlite3_column_type(statement, column) {
                case SQLITE_INTEGER: row.append(.integer(sqlite3_column_int64(statement, column)))
                case SQLITE_FLOAT: row.append(.real(sqlite3_column_double(statement, column)))
                case SQLITE_TEXT: row.append(.text(String(cString: sqlite3_column_text(statement, column))))
                case SQLITE_BLOB:
                    let count = Int(sqlite3_column_bytes(statement, column))
                    if let base = sqlite3_column_blob(statement, column), count > 0 {
                        row.append(.blob(Array(UnsafeRawBufferPointer(start: base, count: count))))
                    } else {
                        row.append(.blob([]))
                    }
                default: row.append(.null)
                }
            }
            rows.append(row)
        }
        return .success(rows)
    }

    private static func failure(_ db: OpaquePointer, _ step: String) -> SupervisorError {
        let code = sqlite3_extended_errcode(db)
        let message = String(cString: sqlite3_errmsg(db))
        let isConstraint = code & 0xff == SQLITE_CONSTRAINT
        return SupervisorError(isConstraint ? "storage_conflict" : "storage_error", "database \(step) failed",
                               status: isConstraint ? 409 : 500, underlying: SQLiteFailure(message: message))
    }
}

/// SQLite's own error text, kept for the log.
struct SQLiteFailure: Error, Sendable, CustomStringConvertible {
    var message: String
    var description: String { "sqlite: \(message)" }
}
