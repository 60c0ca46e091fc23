import PostgresNIO
import CSQLite
import PersonaCore

/// A storage failure. The underlying driver error stays in ``underlying`` for the log and is
/// never shown to a client.
public struct StorageError: Error, CustomStringConvertible {
    /// Stable snake_case codes (PersonaCore's ``ErrorCode`` convention).
    public struct Code: ErrorCode {
        public let rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }

        /// A unique or primary-key constraint refused the write.
        public static let conflict: Code = "conflict"
        /// A foreign key refused the write (the row it points at is gone).
        public static let missingReference: Code = "missing_reference"
        /// The database could not be reached or the connection broke.
        public static let unavailable: Code = "unavailable"
        /// Anything else.
        public static let failed: Code = "failed"
    }

    public var code: Code
    public var message: String
    public var underlying: (any Error)?

    public init(_ code: Code, _ message: String, underlying: (any Error)? = nil) {
        self.code = code
        self.message = message
        self.underlying = underlying
    }

    public var description: String {
        "StorageError(\(code.rawValue)): \(message)" + (underlying.map { " [\(String(reflecting: $0))]" } ?? "")
    }

    /// Wraps a driver error once, classifying constraint violations and connection failures.
    package static func wrap(_ error: any Error) -> any Error {
        if error is StorageError { return error }
        if let psql = error as? PSQLError {
            switch psql.code {
            case .server:
                let state = psql.serverInfo?[.sqlState] ?? ""
                if state == "23505" { return StorageError(.conflict, "duplicate value", underlying: error) }
                if state == "23503" { return StorageError(.missingReference, "referenced row missing", underlying: error) }
                if state.hasPrefix("08") || state == "57P01" || state == "57P03" {
                    return StorageError(.unavailable, "database unavailable", underlying: error)
                }
                return StorageError(.failed, "database error", underlying: error)
            case .connectionError, .serverClosedConnection, .clientClosedConnection, .poolClosed,
                 .connectionQuiescing, .connectionClosed:
                return StorageError(.unavailable, "database unavailable", underlying: error)
            default:
                return StorageError(.failed, "database error", underlying: error)
            }
        }
        if let sqlite = error as? SQLiteError {
            switch sqlite.code {
            case SQLiteError.uniqueViolation, SQLiteError.primaryKeyViolation:
                return StorageError(.conflict, "duplicate value", underlying: error)
            case SQLiteError.foreignKeyViolation:
                return StorageError(.missingReference, "referenced row missing", underlying: error)
            default:
                break
            }
            switch sqlite.primaryCode {
            case SQLITE_BUSY, SQLITE_LOCKED, SQLITE_CANTOPEN, SQLITE_IOERR:
                return StorageError(.unavailable, "database unavailable", underlying: error)
            default:
                return StorageError(.failed, "database error", underlying: error)
            }
        }
        return error
    }
}
