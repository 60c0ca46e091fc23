import Logging
import PersonaCore
import PostgresKit
import SQLKit
import ServiceLifecycle

/// The SQL engine behind a ``Database``: the only place repositories may branch.
public enum SQLDialectKind: String, Sendable {
    case postgres
    case sqlite
}

/// The control plane's database: one SQL layer (SQLKit) over PostgreSQL or SQLite.
///
/// Repositories receive an `any SQLDatabase` from ``withConnection(_:)`` or
/// ``transaction(_:)``, so a mutation and its audit event commit together.
public struct Database: Sendable {
    public let kind: SQLDialectKind
    package let backend: Backend
    package let logger: Logger
    /// PostgreSQL: the persona list's pages, batched across concurrent requests.
    package var personaPages: PersonaPageLoader? = nil
    /// Signalled after this process committed rows to an event log (`run_events`,
    /// `persona_events`), so the live hub reads them at once instead of at its next poll
    /// (events from other processes and replicas arrive by the poll).
    package let eventsWritten = Wakeup()

    package enum Backend: Sendable {
        case postgres(PostgresClient)
        case sqlite(SQLiteConnectionPool)
    }

    /// Runs `body` with a connection from the pool.
    public func withConnection<T: Sendable>(_ body: @Sendable (any SQLDatabase) async throws -> T) async throws -> T {
        do {
            switch backend {
            case .postgres(let client):
                return try await client.withConnection { connection in
                    try await body(connection.sql(queryLogLevel: .trace, logger: logger))
                }
            case .sqlite(let pool):
                return try await pool.withConnection { connection in
                    try await body(SQLiteSQLDatabase(connection: connection, logger: logger, queryLogLevel: .trace))
                }
            }
        } catch {
            throw StorageError.wrap(error)
        }
    }

    /// Runs `body` in one transaction, committed when it returns and rolled back when it throws.
    /// On SQLite the transaction starts `IMMEDIATE`, so writers queue instead of deadlocking.
    public func transaction<T: Sendable>(_ body: @Sendable (any SQLDatabase) async throws -> T) async throws -> T {
        do {
            switch backend {
            case .postgres(let client):
                do {
                    return try await client.withTransaction(logger: logger) { connection in
                        try await body(connection.sql(queryLogLevel: .trace, logger: logger))
                    }
                } catch let error as PostgresTransactionError {
                    // Give callers their own error back (an APIError, a constraint violation),
                    // not postgres-nio's wrapper around it.
                    throw error.closureError ?? error.beginError ?? error.commitError ?? error
                }
            case .sqlite(let pool):
                return try await pool.withConnection { connection in
                    let sql = SQLiteSQLDatabase(connection: connection, logger: logger, queryLogLevel: .trace)
                    try await sql.raw("BEGIN IMMEDIATE").run()
                    do {
                        let value = try await body(sql)
                        try await sql.raw("COMMIT").run()
                        return value
                    } catch {
                        try? await sql.raw("ROLLBACK").run()
                        throw error
                    }
                }
            }
        } catch {
            throw StorageError.wrap(error)
        }
    }

    /// What ``withNative(_:)`` hands over: PostgreSQL's batched reads (prepared statements on
    /// the pool) or one SQLite connection (for positional reads).
    package enum Native {
        case postgres(PersonaPageLoader)
        case sqlite(PooledSQLiteConnection)
    }

    /// Runs `body` against the engine's own interface, for the few hot reads written once per
    /// engine (SQLKit's generic rows cost more than the query there); errors are wrapped as
    /// everywhere else.
    package func withNative<T: Sendable>(_ body: @Sendable (Native) async throws -> T) async throws -> T {
        do {
            switch backend {
            case .postgres:
                guard let personaPages else { throw StorageError(.failed, "a PostgreSQL database without its batched reads") }
                return try await body(.postgres(personaPages))
            case .sqlite(let pool):
                return try await pool.withConnection { try await body(.sqlite($0)) }
            }
        } catch {
            throw StorageError.wrap(error)
        }
    }

    /// Checks that the database answers a trivial query.
    public func ping() async throws {
        try await withConnection { db in try await db.raw("SELECT 1").run() }
    }

    /// The long-running part of the database (the PostgreSQL pool's run loop, the SQLite pool's
    /// shutdown), to put first in the service group.
    public var service: DatabaseService { DatabaseService(backend: backend) }

    package init(kind: SQLDialectKind, backend: Backend, logger: Logger, personaPages: PersonaPageLoader? = nil) {
        self.kind = kind
        self.backend = backend
        self.logger = logger
        self.personaPages = personaPages
    }
}

/// Keeps the connection pool alive for the life of the service group and closes it on shutdown.
public struct DatabaseService: Service {
    package let backend: Database.Backend

    public func run() async throws {
        switch backend {
        case .postgres(let client):
            await client.run()
        case .sqlite(let pool):
            try? await gracefulShutdown()
            await pool.close()
        }
    }

    package init(backend: Database.Backend) {
        self.backend = backend
    }
}
