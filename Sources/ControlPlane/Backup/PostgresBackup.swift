import Foundation
import Logging
import PersonaStorage
import SQLKit

/// The PostgreSQL half of a backup: `pg_dump` (custom format) of the schema holding the control
/// plane's tables, taken in a snapshot the backup also reads the migration version and the
/// stored documents from, so the manifest describes exactly what the dump holds.
struct PostgresBackup {
    let connection: PostgresConnectionInfo
    let tools: PostgresTools
    /// The configured database, on the configured search path.
    let database: Database
    let logger: Logger

    struct Dumped {
        var schema: String
        var migrationVersion: Int
        var serverVersion: String
        var dumpVersion: String
        var extensions: [String]
        /// SHA-256 of every stored document the dumped rows name.
        var documents: Set<String>
    }

    /// Writes the dump to `file`.
    /// - Throws: ``BackupError``: `tool_missing` / `tool_too_old` (a `pg_dump` older than the
    ///   server), `incompatible` (no control-plane tables on the search path), `tool_failed`.
    func dump(to file: String) async throws -> Dumped {
        let pgDump = try tools.require(tools.pgDump, "pg_dump", variable: "PERSONA_PG_DUMP")
        let dumpVersion = try await PostgresTools.version(of: pgDump)
        let connection = self.connection
        let logger = self.logger
        return try await database.withConnection { db in
            // One snapshot for the reads below and, through pg_export_snapshot, for pg_dump.
            try await db.raw("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY").run()
            do {
                let dumped = try await Self.describe(db, dumpVersion: dumpVersion, pgDump: pgDump)
                let snapshot = try await db.raw("SELECT pg_export_snapshot() AS snapshot").first()?
                    .decode(column: "snapshot", as: String.self) ?? ""
                var arguments = ["--format=custom", "--file=\(file)", "--schema=\(Self.pattern(dumped.schema))",
                                 "--snapshot=\(snapshot)", "--lock-wait-timeout=120s"]
                arguments += dumped.extensions.map { "--extension=\(Self.pattern($0))" }
                arguments.append("--dbname=\(connection.connectionString)")
                let result = try await connection.withEnvironment { environment, _ in
                    try await ChildProcess.run(pgDump, arguments, environment: environment)
                }
                guard result.status == 0 else {
                    throw BackupError(.toolFailed, "pg_dump failed: \(result.errorTail)")
                }
                try await db.raw("COMMIT").run()
                logger.info("database dumped", metadata: ["schema": "\(dumped.schema)", "pg_dump": "\(dumped.dumpVersion)",
                                                          "server": "\(dumped.serverVersion)"])
                return dumped
            } catch {
                try? await db.raw("ROLLBACK").run()
                throw error
            }
        }
    }

    /// Reads, in the open transaction, what the manifest says about the dump, and checks
    /// `pg_dump` is at least as new as the server.
    private static func describe(_ db: any SQLDatabase, dumpVersion: (text: String, major: Int), pgDump: String) async throws -> Dumped {
        let server = try await db.raw("SELECT current_setting('server_version_num')::int AS number, current_setting('server_version') AS text")
            .first()
        let serverNumber = try server?.decode(column: "number", as: Int.self) ?? 0
        let serverText = try server?.decode(column: "text", as: String.self) ?? "?"
        try PostgresTools.requireAtLeast(dumpVersion, "pg_dump", at: pgDump, major: serverNumber / 10_000,
                                         of: "server (PostgreSQL \(serverText))", variable: "PERSONA_PG_DUMP")
        guard let schema = try await db.raw("""
            SELECT n.nspname AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE c.oid = to_regclass('schema_migrations')
            """).first()?.decode(column: "name", as: String.self) else {
            throw BackupError(.incompatible, "the configured database has no control-plane tables on its search path (no schema_migrations): nothing to back up")
        }
        let extensions = try await db.raw("""
            SELECT DISTINCT e.extname AS name FROM pg_depend d
            JOIN pg_class c ON d.classid = 'pg_class'::regclass AND d.objid = c.oid
            JOIN pg_depend x ON x.classid = d.refclassid AND x.objid = d.refobjid AND x.deptype = 'e'
              AND x.refclassid = 'pg_extension'::regclass
            JOIN pg_extension e ON e.oid = x.refobjid
            WHERE c.relnamespace = (SELECT oid FROM pg_namespace WHERE nspname = \(bind: schema))
            ORDER BY 1
            """).all().map { try $0.decode(column: "name", as: String.self) }
        let version = try await db.raw("SELECT max(version) AS version FROM schema_migrations").first()?
            .decode(column: "version", as: Int?.self) ?? 0
        let documents = try await db.raw("SELECT DISTINCT sha256 FROM documents").all().map { try $0.decode(column: "sha256", as: String.self) }
        return Dumped(schema: schema, migrationVersion: version, serverVersion: serverText, dumpVersion: dumpVersion.text,
                      extensions: extensions, documents: Set(documents))
    }

    /// A `pg_dump` name pattern that matches exactly `name` (double-quoted: no case folding,
    /// no wildcards).
    static func pattern(_ name: String) -> String {
        "\"" + name.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }
}
