import CSQLite
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// One `sqlite3` connection (the system's libsqlite3, opened `NOMUTEX`), used synchronously.
///
/// Statements are prepared once and kept (`SQLITE_PREPARE_PERSISTENT`), so a repeated query
/// costs bind and step only. Not thread-safe: its owner hands it to one thread at a time (the
/// control plane's pool checks it out to one task and runs it on the pool's threads; the
/// supervisor keeps it behind a lock).
public final class SQLiteConnection: @unchecked Sendable {
    private var db: OpaquePointer?
    private var statements: [String: SQLiteStatement] = [:]
    public let path: String
    /// Enough for every query shape either process sends; past it the cache starts over.
    private static let statementCacheLimit = 256

    /// Opens (creating) the file with extended result codes on.
    /// - Throws: ``SQLiteError`` when the file cannot be opened.
    public init(path: String) throws(SQLiteError) {
        var db: OpaquePointer?
        let rc = sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nil)
        guard rc == SQLITE_OK, let db else {
            let error = SQLiteError(code: rc, message: db.map { String(cString: sqlite3_errmsg($0)) } ?? "cannot open \(path)")
            sqlite3_close_v2(db)
            throw error
        }
        sqlite3_extended_result_codes(db, 1)
        self.db = db
        self.path = path
    }

    deinit {
        close()
    }

    /// Whether no transaction is open.
    public var isAutocommit: Bool { db.map { sqlite3_get_autocommit($0) != 0 } ?? true }

    /// The rowid of the last insert on this connection.
    public var lastInsertRowID: Int64 { db.map { sqlite3_last_insert_rowid($0) } ?? 0 }

    /// A statement prepared before, if any (preparing reads the schema, possibly from disk).
    public func cachedStatement(_ sql: String) -> SQLiteStatement? { statements[sql] }

    /// The prepared statement for `sql`, prepared now unless cached.
    public func statement(_ sql: String) throws(SQLiteError) -> SQLiteStatement {
        if let cached = statements[sql] { return cached }
        guard let db else { throw .closed }
        var handle: OpaquePointer?
        let rc = sql.withCString { sqlite3_prepare_v3(db, $0, -1, UInt32(SQLITE_PREPARE_PERSISTENT), &handle, nil) }
        guard rc == SQLITE_OK else { throw .last(db) }
        guard let handle else { throw SQLiteError(code: SQLITE_MISUSE, message: "empty statement") }
        if statements.count >= Self.statementCacheLimit {
            for statement in statements.values { statement.finalize() }
            statements.removeAll()
        }
        let statement = SQLiteStatement(handle: handle)
        statements[sql] = statement
        return statement
    }

    /// Runs `statement` with `binds`, calling `row` for each row; the statement is reset
    /// afterwards, whatever happened.
    /// - Throws: ``SQLiteError``, or what `row` throws.
    public func step(_ statement: SQLiteStatement, _ binds: [SQLiteValue], row: (SQLiteStatement) throws -> Void) throws {
        guard let db else { throw SQLiteError.closed }
        let handle = statement.handle
        defer {
            sqlite3_reset(handle)
            sqlite3_clear_bindings(handle)
        }
        for (offset, value) in binds.enumerated() {
            let rc = Self.bind(value, at: Int32(offset + 1), to: handle)
            guard rc == SQLITE_OK else { throw SQLiteError.last(db) }
        }
        while true {
            let rc = sqlite3_step(handle)
            if rc == SQLITE_DONE { return }
            guard rc == SQLITE_ROW else { throw SQLiteError.last(db) }
            try row(statement)
        }
    }

    /// Runs one statement (prepared once and cached) and returns its rows' values.
    @discardableResult
    public func execute(_ sql: String, _ binds: [SQLiteValue] = []) throws(SQLiteError) -> [[SQLiteValue]] {
        let statement = try statement(sql)
        var rows: [[SQLiteValue]] = []
        do {
            try step(statement, binds) { rows.append($0.values()) }
        } catch let error as SQLiteError {
            throw error
        } catch {
            throw SQLiteError(code: SQLITE_ERROR, message: "\(error)")
        }
        return rows
    }

    /// Finalizes every statement and closes the handle; later calls fail.
    public func close() {
        for statement in statements.values { statement.finalize() }
        statements.removeAll()
        if let db { sqlite3_close_v2(db) }
        db = nil
    }

    private static func bind(_ value: SQLiteValue, at index: Int32, to handle: OpaquePointer) -> Int32 {
        switch value {
        case .null:
            return sqlite3_bind_null(handle, index)
        case .integer(let n):
            return sqlite3_bind_int64(handle, index, n)
        case .real(let n):
            return sqlite3_bind_double(handle, index, n)
        case .text(let text):
            if text.isEmpty { return sqlite3_bind_text(handle, index, "", 0, transient) }
            var text = text
            return text.withUTF8 { bytes in
                bytes.withMemoryRebound(to: CChar.self) {
                    sqlite3_bind_text64(handle, index, $0.baseAddress, UInt64($0.count), transient, UInt8(SQLITE_UTF8))
                }
            }
        case .blob(let bytes):
            return bytes.withUnsafeBytes { raw in
                sqlite3_bind_blob64(handle, index, raw.baseAddress ?? UnsafeRawPointer(bitPattern: 1), UInt64(raw.count), transient)
            }
        }
    }

    /// `SQLITE_TRANSIENT`: SQLite copies the bound bytes before the call returns.
    private static let transient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)
}
