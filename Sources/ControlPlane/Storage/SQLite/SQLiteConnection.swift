import CSQLite
import Foundation
import NIOPosix

/// A failure reported by SQLite, with its extended result code and message (for the log;
/// ``StorageError`` classifies it for clients).
struct SQLiteError: Error, CustomStringConvertible {
    var code: Int32
    var message: String
    var primaryCode: Int32 { code & 0xff }

    // Extended result codes are C macros Swift does not import.
    static let uniqueViolation = SQLITE_CONSTRAINT | (8 << 8)
    static let primaryKeyViolation = SQLITE_CONSTRAINT | (6 << 8)
    static let foreignKeyViolation = SQLITE_CONSTRAINT | (3 << 8)
    var description: String { "sqlite error \(code): \(message)" }
}

/// The column names of a statement's rows, shared by every row it returns.
final class SQLiteColumns: Sendable {
    let names: [String]

    init(_ names: [String]) {
        self.names = names
    }

    func index(of name: String) -> Int? {
        names.firstIndex(of: name)
    }
}

/// One `sqlite3` connection to the control plane's database file (the system's libsqlite3).
///
/// Statements are prepared once per connection and kept (`SQLITE_PREPARE_PERSISTENT`), so a
/// repeated query costs bind and step only. Statements are prepared and run on the pool's
/// threads, so no Swift concurrency thread blocks (a write waits for the write lock, a commit
/// for fsync, a prepare or a big read for the disk). The positional reads
/// (``reduce(_:_:into:short:_:)``), used for short indexed reads on hot
/// paths, run on the calling thread once their statement is prepared, when they are
/// read-only and outside a transaction: in WAL mode such a read waits for nobody, and the hop
/// to another thread and back cost more than the query.
///
/// Not thread-safe: ``SQLiteConnectionPool`` hands it to one task at a time.
final class SQLiteConnection: @unchecked Sendable {
    private final class Statement: @unchecked Sendable {
        let handle: OpaquePointer
        var columns: SQLiteColumns
        let readOnly: Bool

        init(handle: OpaquePointer) {
            self.handle = handle
            self.columns = Statement.columns(of: handle)
            self.readOnly = sqlite3_stmt_readonly(handle) != 0
        }

        static func columns(of handle: OpaquePointer) -> SQLiteColumns {
            SQLiteColumns((0..<sqlite3_column_count(handle)).map { String(cString: sqlite3_column_name(handle, $0)) })
        }
    }

    private var db: OpaquePointer?
    private var statements: [String: Statement] = [:]
    private let threads: NIOThreadPool
    /// Enough for every query shape the control plane sends; past it the cache starts over.
    private static let statementCacheLimit = 256

    /// Opens (creating) the file, on the pool's threads since opening touches the disk.
    static func open(path: String, threads: NIOThreadPool) async throws -> SQLiteConnection {
        try await threads.runIfActive {
            var db: OpaquePointer?
            let flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX
            let rc = sqlite3_open_v2(path, &db, flags, nil)
            guard rc == SQLITE_OK, let db else {
                let error = SQLiteError(code: rc, message: db.map { String(cString: sqlite3_errmsg($0)) } ?? "cannot open \(path)")
                sqlite3_close_v2(db)
                throw error
            }
            sqlite3_extended_result_codes(db, 1)
            return SQLiteConnection(db: db, threads: threads)
        }
    }

    private init(db: OpaquePointer, threads: NIOThreadPool) {
        self.db = db
        self.threads = threads
    }

    deinit {
        close()
    }

    /// Runs one statement with `binds`, calling `onRow` for each row it returns.
    func run(_ sql: String, _ binds: [SQLiteValue], onRow: @escaping @Sendable (SQLiteRow) -> Void) async throws {
        try await execute(sql, binds, inline: false) { statement in
            let handle = statement.handle
            let count = sqlite3_column_count(handle)
            if count != statement.columns.names.count {
                // The schema changed under a cached `SELECT *`; SQLite prepared it again.
                statement.columns = Statement.columns(of: handle)
            }
            var values: [SQLiteValue] = []
            values.reserveCapacity(Int(count))
            for column in 0..<count { values.append(Self.read(handle, column)) }
            onRow(SQLiteRow(columns: statement.columns, values: values))
        }
    }

    /// Runs one statement and folds its rows into `initial`, read by column position, without
    /// building values or looking columns up by name: for the hottest reads, whose SQL names its
    /// columns.
    /// - Parameter short: the read touches few rows by index, so once its statement is prepared
    ///   it may run on the caller's thread.
    func reduce<T: Sendable>(_ sql: String, _ binds: [SQLiteValue], into initial: T, short: Bool = true,
                             _ update: @escaping @Sendable (inout T, SQLiteColumnReader) throws -> Void) async throws -> T {
        let box = Accumulator(initial)
        try await execute(sql, binds, inline: short) { statement in try update(&box.value, SQLiteColumnReader(handle: statement.handle)) }
        return box.value
    }

    /// What ``reduce(_:_:into:short:_:)`` folds into, used by whichever thread runs the
    /// statement (one at a time).
    private final class Accumulator<T>: @unchecked Sendable {
        var value: T
        init(_ value: T) { self.value = value }
    }

    private func execute(_ sql: String, _ binds: [SQLiteValue], inline: Bool,
                         row: @escaping @Sendable (Statement) throws -> Void) async throws {
        guard let db else { throw SQLiteError(code: SQLITE_MISUSE, message: "connection is closed") }
        // Only a statement prepared before runs here: preparing reads the schema, from the disk
        // when it changed, and a Swift concurrency thread must not wait for the disk.
        if inline, let statement = statements[sql], statement.readOnly, sqlite3_get_autocommit(db) != 0 {
            try step(statement, binds, row: row)
        } else {
            try await threads.runIfActive { try self.step(try self.prepared(sql), binds, row: row) }
        }
    }

    /// Finalizes every statement and closes the handle; later calls fail.
    func close() {
        for statement in statements.values { sqlite3_finalize(statement.handle) }
        statements.removeAll()
        if let db { sqlite3_close_v2(db) }
        db = nil
    }

    private func prepared(_ sql: String) throws -> Statement {
        if let cached = statements[sql] { return cached }
        guard let db else { throw SQLiteError(code: SQLITE_MISUSE, message: "connection is closed") }
        var handle: OpaquePointer?
        var tail: UnsafePointer<CChar>?
        let rc = sql.withCString { sqlite3_prepare_v3(db, $0, -1, UInt32(SQLITE_PREPARE_PERSISTENT), &handle, &tail) }
        guard rc == SQLITE_OK else { throw error(db, rc) }
        guard let handle else { throw SQLiteError(code: SQLITE_MISUSE, message: "empty statement") }
        if statements.count >= Self.statementCacheLimit {
            for statement in statements.values { sqlite3_finalize(statement.handle) }
            statements.removeAll()
        }
        let statement = Statement(handle: handle)
        statements[sql] = statement
        return statement
    }

    private func step(_ statement: Statement, _ binds: [SQLiteValue], row: (Statement) throws -> Void) throws {
        guard let db else { throw SQLiteError(code: SQLITE_MISUSE, message: "connection is closed") }
        let handle = statement.handle
        defer {
            sqlite3_reset(handle)
            sqlite3_clear_bindings(handle)
        }
        for (offset, value) in binds.enumerated() {
            let rc = bind(value, at: Int32(offset + 1), to: handle)
            guard rc == SQLITE_OK else { throw error(db, rc) }
        }
        while true {
            let rc = sqlite3_step(handle)
            if rc == SQLITE_DONE { return }
            guard rc == SQLITE_ROW else { throw error(db, rc) }
            try row(statement)
        }
    }

    private func bind(_ value: SQLiteValue, at index: Int32, to handle: OpaquePointer) -> Int32 {
        switch value {
        case .null:
            return sqlite3_bind_null(handle, index)
        case .integer(let n):
            return sqlite3_bind_int64(handle, index, n)
        case .real(let n):
            return sqlite3_bind_double(handle, index, n)
        case .text(let text):
            if text.isEmpty { return sqlite3_bind_text(handle, index, "", 0, Self.transient) }
            var text = text
            return text.withUTF8 { bytes in
                bytes.withMemoryRebound(to: CChar.self) {
                    sqlite3_bind_text64(handle, index, $0.baseAddress, UInt64($0.count), Self.transient, UInt8(SQLITE_UTF8))
                }
            }
        case .blob(let bytes):
            return bytes.withUnsafeBytes { raw in
                sqlite3_bind_blob64(handle, index, raw.baseAddress ?? UnsafeRawPointer(bitPattern: 1), UInt64(raw.count), Self.transient)
            }
        }
    }

    fileprivate static func read(_ handle: OpaquePointer, _ column: Int32) -> SQLiteValue {
        switch sqlite3_column_type(handle, column) {
        case SQLITE_INTEGER:
            return .integer(sqlite3_column_int64(handle, column))
        case SQLITE_FLOAT:
            return .real(sqlite3_column_double(handle, column))
        case SQLITE_TEXT:
            let count = Int(sqlite3_column_bytes(handle, column))
            guard let base = sqlite3_column_text(handle, column) else { return .text("") }
            return .text(String(decoding: UnsafeBufferPointer(start: base, count: count), as: UTF8.self))
        case SQLITE_BLOB:
            let count = Int(sqlite3_column_bytes(handle, column))
            guard let base = sqlite3_column_blob(handle, column), count > 0 else { return .blob(Data()) }
            return .blob(Data(bytes: base, count: count))
        default:
            return .null
        }
    }

    private func error(_ db: OpaquePointer, _ rc: Int32) -> SQLiteError {
        SQLiteError(code: sqlite3_extended_errcode(db), message: String(cString: sqlite3_errmsg(db)))
    }

    /// `SQLITE_TRANSIENT`: SQLite copies the bound bytes before the call returns.
    private static let transient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)
}

/// The current row of a statement, read by column position (valid only inside the
/// ``SQLiteConnection/reduce(_:_:into:short:_:)`` callback).
struct SQLiteColumnReader {
    fileprivate let handle: OpaquePointer

    func isNull(_ column: Int32) -> Bool {
        sqlite3_column_type(handle, column) == SQLITE_NULL
    }

    func text(_ column: Int32) -> String {
        let count = Int(sqlite3_column_bytes(handle, column))
        guard let base = sqlite3_column_text(handle, column) else { return "" }
        return String(decoding: UnsafeBufferPointer(start: base, count: count), as: UTF8.self)
    }

    /// The column's UTF-8 bytes, or `nil` for NULL: valid until the callback returns.
    func textBytes(_ column: Int32) -> UnsafeBufferPointer<UInt8>? {
        guard let base = sqlite3_column_text(handle, column) else { return nil }
        return UnsafeBufferPointer(start: base, count: Int(sqlite3_column_bytes(handle, column)))
    }

    func optionalText(_ column: Int32) -> String? {
        isNull(column) ? nil : text(column)
    }

    func bool(_ column: Int32) throws -> Bool {
        try decode(column, as: Bool.self)
    }

    func date(_ column: Int32) throws -> Date {
        try decode(column, as: Date.self)
    }

    private func decode<T: SQLiteValueConvertible>(_ column: Int32, as type: T.Type) throws -> T {
        let value = SQLiteConnection.read(handle, column)
        guard let decoded = T(sqliteValue: value) else {
            throw DecodingError.typeMismatch(type, .init(codingPath: [], debugDescription: "column \(column): cannot read \(value) as \(type)"))
        }
        return decoded
    }
}
