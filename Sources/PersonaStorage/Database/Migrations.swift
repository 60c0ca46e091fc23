import Foundation
import Logging
import SQLKit

/// One versioned schema change. `statements` gets the dialect so column types can differ.
package struct Migration: Sendable {
    package var version: Int
    package var name: String
    package var statements: @Sendable (SQLTypes) -> [String]

    package init(version: Int, name: String, statements: @escaping @Sendable (SQLTypes) -> [String]) {
        self.version = version
        self.name = name
        self.statements = statements
    }
}

/// Column types per dialect: the only per-engine part of the DDL.
package struct SQLTypes: Sendable {
    package let kind: SQLDialectKind
    package var time: String { kind == .postgres ? "TIMESTAMPTZ" : "REAL" }
    package var bool: String { kind == .postgres ? "BOOLEAN" : "INTEGER" }
    package var bigint: String { kind == .postgres ? "BIGINT" : "INTEGER" }
    package var real: String { kind == .postgres ? "DOUBLE PRECISION" : "REAL" }
    package var text: String { "TEXT" }

    package init(kind: SQLDialectKind) {
        self.kind = kind
    }
}

extension Database {
    /// Applies every migration not yet recorded in `schema_migrations`, each in its own
    /// transaction. On PostgreSQL an advisory lock keeps concurrent starters from racing.
    public func migrate() async throws {
        let types = SQLTypes(kind: kind)
        let kind = self.kind
        let logger = self.logger
        for migration in Self.migrations {
            try await transaction { db in
                if kind == .postgres {
                    // Transaction-scoped, so it is released with the commit on the same connection.
                    try await db.raw("SELECT pg_advisory_xact_lock(7346012)").run()
                }
                try await db.raw("""
                    CREATE TABLE IF NOT EXISTS schema_migrations (
                      version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at \(unsafeRaw: types.time) NOT NULL)
                    """).run()
                let applied = try await db.select().column("version").from("schema_migrations")
                    .where("version", .equal, migration.version).first()
                guard applied == nil else { return }
                for statement in migration.statements(types) {
                    try await db.raw(SQLQueryString(statement)).run()
                }
                try await db.insert(into: "schema_migrations")
                    .columns("version", "name", "applied_at")
                    .values(SQLBind(migration.version), SQLBind(migration.name), SQLBind(Date()))
                    .run()
                logger.info("applied migration", metadata: ["version": "\(migration.version)", "name": "\(migration.name)"])
            }
        }
    }

    package static let migrations: [Migration] = [coreSchema, runsSchema, containersSchema, approvalsSchema, stepRecordSchema, memorySchema,
                                          runtimeSchema, toolRegistrySchema, toolSearchSchema, operationsIndexesSchema, healthMetricsSchema, alertsSchema,
                                          eventsSchema, dashboardIndexesSchema, idlePauseSchema, dashboardUsageSchema, connectorsSchema]
}
