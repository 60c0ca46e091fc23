#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import CSQLite
import PersonaCore
import Synchronization

/// The supervisor's SQLite file: one ``PersonaCore/SQLiteConnection`` behind one lock (the
/// connection is opened `NOMUTEX`: this lock is the only one). Every statement is short, so
/// callers run it synchronously; that also makes check-then-insert sequences atomic for an
/// actor that calls them without suspending.
public final class SQLiteDatabase: Sendable {
    private let connection: Mutex<SQLiteConnection?>
    public let path: String

    /// Opens (creating) the database at `path` in WAL mode.
    /// - Throws: ``SupervisorError`` `storage_error`.
    public init(path: String) throws(SupervisorError) {
        let opened: SQLiteConnection
        do {
            opened = try SQLiteConnection(path: path)
        } catch {
            throw SupervisorError("storage_error", "could not open \(path)", underlying: error)
        }
        self.path = path
        self.connection = Mutex(opened)
        try execute("PRAGMA busy_timeout = 5000")
        try execute("PRAGMA journal_mode=WAL")
        try execute("PRAGMA synchronous=NORMAL")
    }

    /// Closes the connection; later calls fail.
    public func close() {
        connection.withLock { connection in
            connection?.close()
            connection = nil
        }
    }

    /// Runs one statement (prepared once, then cached) and returns its rows.
    @discardableResult
    public func execute(_ sql: String, _ bindings: [SQLiteValue] = []) throws(SupervisorError) -> [[SQLiteValue]] {
        let outcome: Result<[[SQLiteValue]], SupervisorError> = connection.withLock { connection in
            guard let connection else { return .failure(SupervisorError("storage_error", "database is closed")) }
            do {
                return .success(try connection.execute(sql, bindings))
            } catch {
                return .failure(Self.failure(error as? SQLiteError ?? SQLiteError(code: SQLITE_ERROR, message: "\(error)")))
            }
        }
        return try outcome.get()
    }

    /// The rowid of the last insert on this connection.
    public func lastInsertRowID() -> Int64 {
        connection.withLock { $0?.lastInsertRowID ?? 0 }
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

    private static func failure(_ error: SQLiteError) -> SupervisorError {
        SupervisorError(error.isConstraint ? "storage_conflict" : "storage_error", "database statement failed",
                        status: error.isConstraint ? 409 : 500, underlying: error)
    }
}

extension SQLiteValue {
    /// A `BLOB` of `bytes`.
    static func bytes(_ bytes: [UInt8]) -> SQLiteValue { .blob(Data(bytes)) }

    /// A `BLOB`'s (or a `TEXT`'s UTF-8) bytes.
    var bytes: [UInt8]? { blob.map { Array($0) } }
}
