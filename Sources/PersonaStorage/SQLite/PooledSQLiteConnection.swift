import CSQLite
import NIOPosix
import PersonaCore

/// A ``PersonaCore/SQLiteConnection`` of the control plane's pool, with the threads its
/// statements run on.
///
/// Statements are prepared and run on the pool's threads, so no Swift concurrency thread
/// blocks (a write waits for the write lock, a commit for fsync, a prepare or a big read for
/// the disk). The positional reads (``reduce(_:_:into:short:_:)``), used for short indexed
/// reads on hot paths, run on the calling thread once their statement is prepared, when they
/// are read-only and outside a transaction: in WAL mode such a read waits for nobody, and the
/// hop to another thread and back cost more than the query.
///
/// Not thread-safe: ``SQLiteConnectionPool`` hands it to one task at a time.
package final class PooledSQLiteConnection: @unchecked Sendable {
    private let connection: SQLiteConnection
    private let threads: NIOThreadPool

    /// Opens (creating) the file, on the pool's threads since opening touches the disk.
    package static func open(path: String, threads: NIOThreadPool) async throws -> PooledSQLiteConnection {
        try await threads.runIfActive {
            PooledSQLiteConnection(connection: try SQLiteConnection(path: path), threads: threads)
        }
    }

    private init(connection: SQLiteConnection, threads: NIOThreadPool) {
        self.connection = connection
        self.threads = threads
    }

    /// Runs one statement with `binds`, calling `onRow` for each row it returns.
    package func run(_ sql: String, _ binds: [SQLiteValue], onRow: @escaping @Sendable (SQLiteRow) -> Void) async throws {
        try await execute(sql, binds, inline: false) { statement in
            let (columns, values) = statement.row()
            onRow(SQLiteRow(columns: columns, values: values))
        }
    }

    /// Runs one statement and folds its rows into `initial`, read by column position, without
    /// building values or looking columns up by name: for the hottest reads, whose SQL names its
    /// columns.
    /// - Parameter short: the read touches few rows by index, so once its statement is prepared
    ///   it may run on the caller's thread.
    package func reduce<T: Sendable>(_ sql: String, _ binds: [SQLiteValue], into initial: T, short: Bool = true,
                             _ update: @escaping @Sendable (inout T, SQLiteColumnReader) throws -> Void) async throws -> T {
        let box = Accumulator(initial)
        try await execute(sql, binds, inline: short) { statement in try update(&box.value, statement.reader) }
        return box.value
    }

    /// What ``reduce(_:_:into:short:_:)`` folds into, used by whichever thread runs the
    /// statement (one at a time).
    private final class Accumulator<T>: @unchecked Sendable {
        var value: T
        init(_ value: T) { self.value = value }
    }

    private func execute(_ sql: String, _ binds: [SQLiteValue], inline: Bool,
                         row: @escaping @Sendable (SQLiteStatement) throws -> Void) async throws {
        // Only a statement prepared before runs here: preparing reads the schema, from the disk
        // when it changed, and a Swift concurrency thread must not wait for the disk.
        if inline, let statement = connection.cachedStatement(sql), statement.readOnly, connection.isAutocommit {
            try connection.step(statement, binds, row: row)
        } else {
            try await threads.runIfActive { try self.connection.step(try self.connection.statement(sql), binds, row: row) }
        }
    }

    /// Finalizes every statement and closes the handle; later calls fail.
    package func close() {
        connection.close()
    }
}
