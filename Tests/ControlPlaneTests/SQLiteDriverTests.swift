@testable import ControlPlane
import Foundation
import Logging
import PersonaKit
import SQLKit
import Testing
import PersonaStorage

/// The control plane's SQLite driver (`Storage/SQLite/`) on its own: the storage format files
/// written before it keep, error classes, the statement cache across a schema change.
@Suite("SQLite driver")
struct SQLiteDriverTests {
    struct Payload: Codable, Equatable, Sendable {
        var name: String
        var sizes: [Int]
    }

    /// A one-connection database in a fresh directory (one connection, so cached statements are
    /// seen again), closed and removed after `body`.
    func withDatabase(_ body: (Database) async throws -> Void) async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("sqlite-driver-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let pool = SQLiteConnectionPool(path: directory.appendingPathComponent("test.db").path, size: 1, logger: Logger(label: "test"))
        let database = Database(kind: .sqlite, backend: .sqlite(pool), logger: Logger(label: "test"))
        do {
            try await body(database)
        } catch {
            await pool.close()
            try? FileManager.default.removeItem(at: directory)
            throw error
        }
        await pool.close()
        try? FileManager.default.removeItem(at: directory)
    }

    @Test("values are stored as before the driver (REAL dates, 0/1, BLOB, JSON text) and read back")
    func storageFormat() async throws {
        try await withDatabase { database in
            let date = Date(timeIntervalSince1970: 1_795_000_000.123456)
            let payload = Payload(name: "x \"y\" é", sizes: [1, 2])
            try await database.withConnection { db in
                try await db.raw("CREATE TABLE t (id INTEGER PRIMARY KEY, s TEXT, d REAL, b INTEGER, bytes BLOB, j TEXT, e TEXT, n TEXT)").run()
                try await db.insert(into: "t").columns("id", "s", "d", "b", "bytes", "j", "e", "n")
                    .values(SQLBind(1), SQLBind("hello"), SQLBind(date), SQLBind(true), SQLBind(Data([0, 1, 255])),
                            SQLBind(payload), SQLBind(MemberRole.editor), SQLBind(String?.none))
                    .run()
            }
            let row = try #require(try await database.withConnection { db in
                try await db.raw("""
                    SELECT *, typeof(s) AS ts, typeof(d) AS td, typeof(b) AS tb, typeof(bytes) AS tbytes, typeof(j) AS tj,
                           typeof(e) AS te, typeof(n) AS tn FROM t
                    """).first()
            })
            #expect(try ["ts", "td", "tb", "tbytes", "tj", "te", "tn"].map { try row.decode(column: $0, as: String.self) }
                    == ["text", "real", "integer", "blob", "text", "text", "null"])
            #expect(try row.decode(column: "s", as: String.self) == "hello")
            #expect(abs(try row.decode(column: "d", as: Date.self).timeIntervalSince(date)) < 0.000_001)
            #expect(try row.decode(column: "b", as: Bool.self) == true)
            #expect(try row.decode(column: "bytes", as: Data.self) == Data([0, 1, 255]))
            #expect(try row.decode(column: "j", as: Payload.self) == payload)
            #expect(try row.decode(column: "e", as: MemberRole.self) == .editor)
            #expect(try row.decode(column: "n", as: String?.self) == nil)
            #expect(try row.decodeNil(column: "n"))
            #expect(try row.decode(column: "id", as: Int.self) == 1)
            #expect(throws: DecodingError.self) { try row.decode(column: "bytes", as: Int.self) }
            #expect(throws: DecodingError.self) { try row.decode(column: "no_such_column", as: String.self) }
        }
    }

    @Test("dates an older file holds as integers or ISO 8601 text are read")
    func olderDates() async throws {
        try await withDatabase { database in
            let rows = try await database.withConnection { db in
                try await db.raw("SELECT 1795000000 AS i, '2026-11-18T11:06:40Z' AS iso, '2026-11-18 11:06:40Z' AS spaced").all()
            }
            let row = try #require(rows.first)
            for column in ["i", "iso", "spaced"] {
                #expect(try row.decode(column: column, as: Date.self) == Date(timeIntervalSince1970: 1_795_000_000), "\(column)")
            }
        }
    }

    @Test("unique and foreign-key violations become conflict and missingReference; a failed transaction leaves nothing")
    func constraints() async throws {
        try await withDatabase { database in
            try await database.withConnection { db in
                try await db.raw("CREATE TABLE parent (id TEXT PRIMARY KEY, name TEXT UNIQUE)").run()
                try await db.raw("CREATE TABLE child (id TEXT PRIMARY KEY, parent_id TEXT NOT NULL REFERENCES parent(id))").run()
                try await db.raw("INSERT INTO parent (id, name) VALUES ('p1', 'one')").run()
            }
            await #expect(throws: StorageError.self, performing: {
                try await database.withConnection { db in try await db.raw("INSERT INTO parent (id, name) VALUES ('p2', 'one')").run() }
            })
            do {
                try await database.withConnection { db in try await db.raw("INSERT INTO parent (id, name) VALUES ('p1', 'again')").run() }
                Issue.record("a duplicate primary key was accepted")
            } catch let error as StorageError {
                #expect(error.code == .conflict)
            }
            do {
                try await database.transaction { tx in
                    try await tx.raw("INSERT INTO parent (id, name) VALUES ('p3', 'three')").run()
                    try await tx.raw("INSERT INTO child (id, parent_id) VALUES ('c1', 'nobody')").run()
                }
                Issue.record("a child without its parent was accepted")
            } catch let error as StorageError {
                #expect(error.code == .missingReference)
            }
            let names = try await database.withConnection { db in
                try await db.raw("SELECT name FROM parent ORDER BY id").all(decodingColumn: "name", as: String.self)
            }
            #expect(names == ["one"])
        }
    }

    @Test("a cached SELECT * sees a column added after it was prepared; positional reads see the same rows")
    func statementCache() async throws {
        try await withDatabase { database in
            try await database.withConnection { db in
                try await db.raw("CREATE TABLE t (id TEXT PRIMARY KEY, a TEXT)").run()
                try await db.raw("INSERT INTO t (id, a) VALUES ('1', 'x')").run()
                #expect(try await db.raw("SELECT * FROM t").first()?.allColumns == ["id", "a"])
                try await db.raw("ALTER TABLE t ADD COLUMN b TEXT DEFAULT 'y'").run()
                let row = try await db.raw("SELECT * FROM t").first()
                #expect(row?.allColumns == ["id", "a", "b"])
                #expect(try row?.decode(column: "b", as: String.self) == "y")
            }
            let read: [String] = try await database.withNative { native in
                guard case .sqlite(let connection) = native else { return [] }
                return try await connection.reduce("SELECT id, a, b FROM t WHERE id = ?1", [.text("1")], into: []) { rows, row in
                    rows.append([row.text(0), row.text(1), row.optionalText(2) ?? "-"].joined(separator: ","))
                }
            }
            #expect(read == ["1,x,y"])
        }
    }
}
