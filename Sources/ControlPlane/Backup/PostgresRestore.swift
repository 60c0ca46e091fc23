import Foundation
import Logging
import PersonaStorage
import SQLKit

/// The PostgreSQL half of a restore: `pg_restore` of the dumped schema into the configured
/// database, under the same schema name.
///
/// `pg_restore` cannot rename a schema (every object in the dump is qualified with it), so the
/// configured connection must find the backup's schema first on its search path: `public` for
/// an installation that never set one, the test's own schema for a test. Objects are created
/// as the connecting role (`--no-owner`) without the original grants (`--no-privileges`), in
/// one transaction (`--single-transaction --exit-on-error`).
struct PostgresRestore {
    let connection: PostgresConnectionInfo
    let tools: PostgresTools
    /// The configured database, on the configured search path.
    let database: Database
    let logger: Logger

    /// What the target holds before the restore.
    struct Target {
        var pgRestore: String
        var schemaExists: Bool
        /// Everything of the schema's own (not an extension's).
        var objects: [Object]
    }

    /// A table, view, sequence, routine or type: `kind` as `DROP` names it, `name` qualified.
    struct Object {
        var kind: String
        var name: String
        var drop: String { "DROP \(kind) IF EXISTS \(name) CASCADE" }
    }

    /// Checks the tools and the target without changing anything.
    /// - Throws: ``BackupError`` `tool_missing` / `tool_too_old` (a `pg_restore` older than the
    ///   `pg_dump` that wrote the dump), `incompatible` (the search path finds another schema
    ///   first), `target_not_empty` (the schema holds tables and `force` is off).
    func check(_ manifest: BackupManifest, force: Bool) async throws -> Target {
        let pgRestore = try tools.require(tools.pgRestore, "pg_restore", variable: "PERSONA_PG_RESTORE")
        let version = try await PostgresTools.version(of: pgRestore)
        if let dumped = manifest.database.dumpVersion.flatMap({ PostgresTools.parseVersion("(PostgreSQL) " + $0) }) {
            try PostgresTools.requireAtLeast(version, "pg_restore", at: pgRestore, major: dumped.major,
                                             of: "pg_dump that wrote the backup (\(dumped.text))", variable: "PERSONA_PG_RESTORE")
        }
        let schema = manifest.database.schema ?? "public"
        return try await database.withConnection { db in
            let exists = try await Self.resolve(schema, on: db)
            let objects = exists ? try await Self.objects(in: schema, on: db) : []
            if !objects.isEmpty && !force {
                throw BackupError(.targetNotEmpty, "the target database already holds \(objects.count) objects in schema \(schema) (\(objects.prefix(3).map(\.name).joined(separator: ", "))\(objects.count > 3 ? ", ..." : "")): restore into an empty database, or pass --force to drop them first")
            }
            return Target(pgRestore: pgRestore, schemaExists: exists, objects: objects)
        }
    }

    /// Drops what the schema holds (with `force`), then restores the dump.
    /// - Throws: ``BackupError`` `tool_failed` with `pg_restore`'s message; nothing of the dump
    ///   is kept then (one transaction), but objects dropped by `force` stay dropped.
    func restore(_ manifest: BackupManifest, dump: String, target: Target) async throws {
        let schema = manifest.database.schema ?? "public"
        if !target.objects.isEmpty {
            try await database.transaction { tx in
                for object in target.objects { try await tx.raw(SQLQueryString(object.drop)).run() }
            }
            logger.warning("dropped the target schema's objects (--force)", metadata: ["schema": "\(schema)", "objects": "\(target.objects.count)"])
        }
        let connection = self.connection
        try await connection.withEnvironment { environment, directory in
            let list = directory + "/restore.list"
            let listed = try await ChildProcess.run(target.pgRestore, ["--list", "--file=\(list)", dump], environment: environment)
            guard listed.status == 0, let text = FileManager.default.contents(atPath: list) else {
                throw BackupError(.toolFailed, "pg_restore --list failed: \(listed.errorTail)")
            }
            let kept = Self.filter(String(decoding: text, as: UTF8.self), schema: schema, schemaExists: target.schemaExists)
            try FileIO.writeNew(list, data: Data(kept.utf8))
            let result = try await ChildProcess.run(target.pgRestore, [
                "--use-list=\(list)", "--single-transaction", "--exit-on-error", "--no-owner", "--no-privileges",
                "--dbname=\(connection.connectionString)", dump,
            ], environment: environment)
            guard result.status == 0 else { throw BackupError(.toolFailed, "pg_restore failed: \(result.errorTail)") }
        }
        let version = try await database.withConnection { db in
            try await db.raw("SELECT max(version) AS version FROM schema_migrations").first()?.decode(column: "version", as: Int?.self) ?? 0
        }
        guard version == manifest.migrationVersion else {
            throw BackupError(.database, "after pg_restore the database is at migration \(version), the backup at \(manifest.migrationVersion)")
        }
    }

    /// The dump's table of contents without what would fail on an existing target: the
    /// schema's `CREATE SCHEMA` and comment when the schema exists (`public` always does), and
    /// extension comments (only an extension's owner may set them; `CREATE EXTENSION IF NOT
    /// EXISTS` stays).
    static func filter(_ list: String, schema: String, schemaExists: Bool) -> String {
        list.split(separator: "\n", omittingEmptySubsequences: false).filter { line in
            if line.hasPrefix(";") { return true }
            if line.contains(" COMMENT - EXTENSION ") { return false }
            if schemaExists && (line.contains(" SCHEMA - \(schema) ") || line.contains(" COMMENT - SCHEMA \(schema) ")) { return false }
            return true
        }.joined(separator: "\n")
    }

    /// Whether `schema` exists, after checking the connection's search path finds it before
    /// any other existing schema (else the control plane would not see what was restored).
    private static func resolve(_ schema: String, on db: any SQLDatabase) async throws -> Bool {
        let row = try await db.raw("SELECT current_setting('search_path') AS path, current_user AS name").first()
        let path = try row?.decode(column: "path", as: String.self) ?? ""
        let user = try row?.decode(column: "name", as: String.self) ?? ""
        let existing = Set(try await db.raw("SELECT nspname AS name FROM pg_namespace").all().map { try $0.decode(column: "name", as: String.self) })
        for item in path.split(separator: ",") {
            var name = item.trimmingCharacters(in: .whitespaces)
            if name.hasPrefix("\"") && name.hasSuffix("\"") && name.count >= 2 {
                name = String(name.dropFirst().dropLast()).replacingOccurrences(of: "\"\"", with: "\"")
            }
            if name == "$user" { name = user }
            if name == schema { return existing.contains(schema) }
            if existing.contains(name) {
                throw BackupError(.incompatible, "the backup holds schema \(schema), but the configured connection finds schema \(name) first (search_path \(path)): restore into a database where \(schema) comes first")
            }
        }
        throw BackupError(.incompatible, "the backup holds schema \(schema), which is not on the configured search_path (\(path))")
    }

    /// Each table, view, sequence, routine and type of `schema` that no extension owns.
    private static func objects(in schema: String, on db: any SQLDatabase) async throws -> [Object] {
        let rows = try await db.raw("""
            WITH ns AS (SELECT oid FROM pg_namespace WHERE nspname = \(bind: schema))
            SELECT CASE c.relkind WHEN 'v' THEN 'VIEW' WHEN 'm' THEN 'MATERIALIZED VIEW' WHEN 'S' THEN 'SEQUENCE'
                     WHEN 'f' THEN 'FOREIGN TABLE' ELSE 'TABLE' END AS kind,
                   format('%I.%I', \(bind: schema), c.relname) AS name, 1 AS rank
            FROM pg_class c WHERE c.relnamespace = (SELECT oid FROM ns) AND c.relkind IN ('r', 'p', 'v', 'm', 'f', 'S')
              AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e')
            UNION ALL
            SELECT CASE p.prokind WHEN 'a' THEN 'AGGREGATE' ELSE 'ROUTINE' END,
                   format('%I.%I(%s)', \(bind: schema), p.proname, pg_get_function_identity_arguments(p.oid)), 2
            FROM pg_proc p WHERE p.pronamespace = (SELECT oid FROM ns)
              AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e')
            UNION ALL
            SELECT CASE t.typtype WHEN 'd' THEN 'DOMAIN' ELSE 'TYPE' END, format('%I.%I', \(bind: schema), t.typname), 3
            FROM pg_type t WHERE t.typnamespace = (SELECT oid FROM ns) AND t.typtype IN ('c', 'd', 'e', 'r')
              AND (t.typtype <> 'c' OR (SELECT relkind FROM pg_class WHERE oid = t.typrelid) = 'c')
              AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_type'::regclass AND d.objid = t.oid AND d.deptype = 'e')
            ORDER BY rank, name
            """).all()
        return try rows.map { Object(kind: try $0.decode(column: "kind", as: String.self), name: try $0.decode(column: "name", as: String.self)) }
    }
}
