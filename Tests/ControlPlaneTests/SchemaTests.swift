import ControlPlane
import Foundation
import PersonaStorage
import SQLKit
import Testing
import TestSupport

/// The migrated schema itself, on both engines.
@Suite("Schema")
struct SchemaTests {
    @Test("every foreign key leads an index, and every audit row carries a trace id (the start-up admin's too)",
          arguments: TestBackend.allCases)
    func foreignKeysAndTraces(backend: TestBackend) async throws {
        try await TestApp.run(backend) { api, services in
            _ = try await api.login()
            let (foreignKeys, unindexed): (Int, [String]) = try await services.database.withConnection { db in
                switch services.database.kind {
                case .postgres:
                    let count = try await db.raw("""
                        SELECT COUNT(*) AS n FROM pg_constraint c JOIN pg_namespace n ON n.oid = c.connamespace
                        WHERE c.contype = 'f' AND n.nspname = current_schema()
                        """).first()?.decode(column: "n", as: Int.self) ?? 0
                    return (count, try await db.raw("""
                        SELECT c.conrelid::regclass::text || '.' || a.attname AS fk
                        FROM pg_constraint c JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1]
                        JOIN pg_namespace n ON n.oid = c.connamespace
                        WHERE c.contype = 'f' AND n.nspname = current_schema() AND NOT EXISTS (
                          SELECT 1 FROM pg_index i WHERE i.indrelid = c.conrelid AND i.indkey[0] = c.conkey[1])
                        ORDER BY 1
                        """).all().map { try $0.decode(column: "fk", as: String.self) })
                case .sqlite:
                    var missing: [String] = []
                    var count = 0
                    let tables = try await db.raw("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")
                        .all().map { try $0.decode(column: "name", as: String.self) }
                    for table in tables {
                        // The first column of every index, the table's primary key included.
                        var leading: Set<String> = []
                        for row in try await db.raw(SQLQueryString("PRAGMA table_info(\(unsafeRaw: table))")).all()
                        where try row.decode(column: "pk", as: Int.self) == 1 {
                            leading.insert(try row.decode(column: "name", as: String.self))
                        }
                        for index in try await db.raw(SQLQueryString("PRAGMA index_list(\(unsafeRaw: table))")).all() {
                            let name = try index.decode(column: "name", as: String.self)
                            for column in try await db.raw(SQLQueryString("PRAGMA index_info(\(unsafeRaw: name))")).all()
                            where try column.decode(column: "seqno", as: Int.self) == 0 {
                                leading.insert(try column.decode(column: "name", as: String.self))
                            }
                        }
                        for key in try await db.raw(SQLQueryString("PRAGMA foreign_key_list(\(unsafeRaw: table))")).all() {
                            count += 1
                            let column = try key.decode(column: "from", as: String.self)
                            if !leading.contains(column) { missing.append("\(table).\(column)") }
                        }
                    }
                    return (count, missing.sorted())
                }
            }
            #expect(foreignKeys >= 20, "the check saw \(foreignKeys) foreign keys")
            #expect(unindexed == [], "foreign keys without an index: \(unindexed)")

            let audit = try await services.database.withConnection { db in
                try await db.raw("SELECT event_type, trace_id FROM audit_events").all().map {
                    (try $0.decode(column: "event_type", as: String.self), try $0.decode(column: "trace_id", as: String?.self))
                }
            }
            #expect(audit.contains { $0.0 == "user.bootstrap_admin" }, "\(audit)")
            for (type, trace) in audit {
                #expect(trace?.count == 32 && trace?.allSatisfy(\.isHexDigit) == true, "\(type) has trace id \(trace ?? "nil")")
            }
        }
    }
}
