import CSQLite

/// A failure reported by SQLite: its extended result code and message, kept for the log.
/// Each process classifies it for its clients (the control plane's `StorageError`, the
/// supervisor's `storage_conflict` / `storage_error`).
public struct SQLiteError: Error, Sendable, CustomStringConvertible {
    /// The extended result code (`SQLITE_CONSTRAINT_UNIQUE`, ...).
    public var code: Int32
    public var message: String

    public init(code: Int32, message: String) {
        self.code = code
        self.message = message
    }

    /// The primary result code (`SQLITE_CONSTRAINT`, `SQLITE_BUSY`, ...).
    public var primaryCode: Int32 { code & 0xff }
    public var isConstraint: Bool { primaryCode == SQLITE_CONSTRAINT }

    // Extended result codes are C macros Swift does not import.
    public static let uniqueViolation = SQLITE_CONSTRAINT | (8 << 8)
    public static let primaryKeyViolation = SQLITE_CONSTRAINT | (6 << 8)
    public static let foreignKeyViolation = SQLITE_CONSTRAINT | (3 << 8)

    public var description: String { "sqlite error \(code): \(message)" }

    /// The connection's last error.
    static func last(_ db: OpaquePointer) -> SQLiteError {
        SQLiteError(code: sqlite3_extended_errcode(db), message: String(cString: sqlite3_errmsg(db)))
    }

    static let closed = SQLiteError(code: SQLITE_MISUSE, message: "connection is closed")
}
