import Foundation
import PersonaKit
import Logging
import NIOCore
import PostgresNIO
import PersonaCore

/// The persona list's SQL: PostgreSQL's batch of pages, each page three index reads, and
/// SQLite's single page.
package enum PersonaListQuery {
    /// One page of the personas a user sees, newest id first: every persona for an admin;
    /// otherwise the ones they own and the ones shared with them. Each of the three parts
    /// reads its own index (`personas_pkey`, `personas_owner_idx (owner_id, id)`,
    /// `persona_members_user_idx (user_id, persona_id)`) downwards from the cursor, and the
    /// parts that do not apply (`admin` or not) are skipped whole, so a page costs the same
    /// however many personas other users have. The shared part leaves out the user's own
    /// personas, so that no persona is listed twice, and gives the member row's persona id
    /// (the persona's id) so that its index's order is the page's.
    /// Each part carries the page's `LIMIT`: PostgreSQL merges them (a Merge Append of three
    /// index scans) and reads at most a page from each index.
    private static func page(user: String, admin: String, cursor: String?, limit: String) -> String {
        let columns = "p.owner_id, p.name, p.description, p.system_prompt, p.theme, p.is_active, p.created_at, p.updated_at"
        func below(_ column: String) -> String { cursor.map { " AND \(column) < \($0)" } ?? "" }
        let parts = [
            "SELECT p.id, \(columns), CAST(NULL AS TEXT) AS role FROM personas p WHERE \(admin)\(below("p.id"))",
            "SELECT p.id, \(columns), CAST(NULL AS TEXT) AS role FROM personas p WHERE NOT \(admin) AND p.owner_id = \(user)\(below("p.id"))",
            """
            SELECT m.persona_id, \(columns), m.role FROM persona_members m JOIN personas p ON p.id = m.persona_id
            WHERE NOT \(admin) AND m.user_id = \(user) AND p.owner_id <> \(user)\(below("m.persona_id"))
            """,
        ]
        let limited = parts.enumerated().map { index, part in
            "SELECT * FROM (\(part) ORDER BY 1 DESC LIMIT \(limit)) AS part\(index)"
        }
        return "SELECT * FROM (\(limited.joined(separator: "\nUNION ALL\n"))) AS visible ORDER BY 1 DESC LIMIT \(limit)"
    }
    /// SQLite's page: one backward scan of `personas_pkey` with the caller's membership joined.
    /// On the benchmark's data it is 15-20 % cheaper than the three-part page (bench-api:
    /// 0.45x against 0.52-0.54x); it reads more rows only where other users own many personas.
    private static let sqliteSelect = """
        SELECT p.id, p.owner_id, p.name, p.description, p.system_prompt, p.theme, p.is_active, p.created_at, p.updated_at,
               m.role
        FROM personas p LEFT JOIN persona_members m ON m.persona_id = p.id AND m.user_id = ?1
        WHERE (?2 OR p.owner_id = ?1 OR m.role IS NOT NULL)
        """
    package static let firstSQLite = sqliteSelect + " ORDER BY p.id DESC LIMIT ?3"
    package static let afterSQLite = sqliteSelect + " AND p.id < ?3 ORDER BY p.id DESC LIMIT ?4"

    /// Many callers' pages in one statement (PostgreSQL, ``PersonaPageLoader``): the parameters
    /// come as arrays, one element per caller, and each caller's page is the single statement's
    /// page, run as a `LATERAL` subquery. Every row starts with its caller's place in the
    /// arrays (from 1), and rows come ordered by it, then as a page orders them.
    package static func batchSQL(after: Bool) -> String {
        let arrays = after ? "$1::text[], $2::boolean[], $3::text[], $4::bigint[]" : "$1::text[], $2::boolean[], $3::bigint[]"
        let columns = after ? "user_id, is_admin, cursor, lim, n" : "user_id, is_admin, lim, n"
        let page = page(user: "q.user_id", admin: "q.is_admin", cursor: after ? "q.cursor" : nil, limit: "q.lim")
        return """
            SELECT q.n, page.* FROM unnest(\(arrays)) WITH ORDINALITY AS q(\(columns))
            CROSS JOIN LATERAL (\(page)) AS page
            ORDER BY q.n, page.id DESC
            """
    }

    /// What one list query binds, in `$n` order.
    package struct Parameters: Sendable {
        package var userId: String
        package var isAdmin: Bool
        package var cursor: String?
        package var limit: Int

        package init(user: AuthenticatedUser, cursor: String?, limit: Int) {
            (userId, isAdmin, self.cursor, self.limit) = (user.id, user.role == .admin, cursor, limit)
        }

        package var sqliteSQL: String { cursor == nil ? PersonaListQuery.firstSQLite : PersonaListQuery.afterSQLite }

        package var sqliteBinds: [SQLiteValue] {
            [.text(userId), .integer(isAdmin ? 1 : 0)] + (cursor.map { [SQLiteValue.text($0)] } ?? []) + [.integer(Int64(limit))]
        }

        /// The caller's role on a listed persona; `nil` when the row is not theirs to see.
        package func role(ownedByCaller: Bool, memberRole: String?) -> MemberRole? {
            isAdmin || ownedByCaller ? .owner : memberRole.flatMap(MemberRole.init(rawValue:))
        }
    }
}

/// One list row as PostgreSQL sent it, read by position: text columns stay slices of the row's
/// buffer (no string is made of them) and binary booleans and timestamps are read in place.
/// postgres-nio's generic tuple decoding was a tenth of the server's CPU on this route.
package struct PersonaWireRow: Sendable {
    package var id: ByteBuffer
    package var ownerId: ByteBuffer
    package var name: ByteBuffer
    package var description: ByteBuffer?
    package var systemPrompt: ByteBuffer?
    package var theme: ByteBuffer?
    package var isActive: Bool
    package var createdAt: Date
    package var updatedAt: Date
    package var memberRole: ByteBuffer?

    /// The row from the list's ten columns, the next ones `cells` gives.
    package init(cells: inout PostgresRow.Iterator) throws {
        func next() throws -> PostgresCell {
            guard let cell = cells.next() else { throw StorageError(.failed, "persona list row with too few columns") }
            return cell
        }
        func text(_ cell: PostgresCell) throws -> ByteBuffer {
            guard let bytes = cell.bytes else { throw StorageError(.failed, "persona list row: \(cell.columnName) is null") }
            return bytes
        }
        (id, ownerId, name) = (try text(next()), try text(next()), try text(next()))
        (description, systemPrompt, theme) = (try next().bytes, try next().bytes, try next().bytes)
        isActive = try Self.bool(next())
        (createdAt, updatedAt) = (try Self.date(next()), try Self.date(next()))
        memberRole = try next().bytes
    }

    private static func bool(_ cell: PostgresCell) throws -> Bool {
        if cell.format == .binary, cell.dataType == .bool, let bytes = cell.bytes, bytes.readableBytes == 1 {
            return bytes.getInteger(at: bytes.readerIndex, as: UInt8.self) != 0
        }
        return try cell.decode(Bool.self)
    }

    /// The same arithmetic as postgres-nio's `Date` decoding, so that a persona's timestamps
    /// read here and through SQLKit (`GET /api/personas/{id}`) print the same milliseconds.
    private static func date(_ cell: PostgresCell) throws -> Date {
        if cell.format == .binary, cell.dataType == .timestamptz, let bytes = cell.bytes, bytes.readableBytes == 8,
           let microseconds = bytes.getInteger(at: bytes.readerIndex, as: Int64.self) {
            return Date(timeInterval: Double(microseconds) / 1_000_000, since: postgresEpoch)
        }
        return try cell.decode(Date.self)
    }

    private static let postgresEpoch = Date(timeIntervalSince1970: 946_684_800)

    /// The row as a persona and the caller's membership role, if any.
    package var persona: (Persona, memberRole: String?) {
        (Persona(listColumns: String(buffer: id), ownerId: String(buffer: ownerId), name: String(buffer: name),
                 description: description.map { String(buffer: $0) }, systemPrompt: systemPrompt.map { String(buffer: $0) },
                 theme: theme.map { String(buffer: $0) }, isActive: isActive, createdAt: createdAt, updatedAt: updatedAt),
         memberRole.map { String(buffer: $0) })
    }
}

extension Persona {
    /// A persona from the list query's columns (a stored theme that is not valid JSON is left out).
    package init(listColumns id: String, ownerId: String, name: String, description: String?, systemPrompt: String?, theme: String?,
         isActive: Bool, createdAt: Date, updatedAt: Date) {
        self.init(id: id, ownerId: ownerId, name: name, description: description, systemPrompt: systemPrompt,
                  theme: theme.flatMap { try? JSONCoding.decode(JSONValue.self, from: $0) }, now: createdAt)
        self.isActive = isActive
        self.updatedAt = updatedAt
    }
}

extension PersonaRepository {
    /// One page of the personas `user` may see, after `cursor`, appended to `writer` (which the
    /// caller has opened, e.g. with `{"data":[`) as JSON objects, and the next page's cursor.
    /// The rows are written straight from the SQLite statement's columns or from the bytes
    /// PostgreSQL sent, with no string, persona or DTO made of them: this is the hottest read of
    /// the API and most of its cost was those copies.
    package func listPage(user: AuthenticatedUser, cursor: String?, limit pageLimit: Int, into writer: JSONWriter,
                          in database: Database) async throws -> (JSONWriter, String?) {
        let page = (cursor: cursor, limit: pageLimit)
        let parameters = PersonaListQuery.Parameters(user: user, cursor: page.cursor, limit: page.limit + 1)
        if database.kind == .postgres {
            let rows = try await database.withNative { native -> [PersonaWireRow] in
                guard case .postgres(let pages) = native else { preconditionFailure("PostgreSQL page on \(database.kind)") }
                return try await pages.rows(parameters)
            }
            var writer = writer
            var count = 0
            for row in rows where count < page.limit {
                let owned = row.ownerId.withUnsafeReadableBytes { raw -> Bool in Self.same(raw.assumingMemoryBound(to: UInt8.self), user.id) }
                guard let role = parameters.role(ownedByCaller: owned, memberRole: row.memberRole.map { String(buffer: $0) }) else { continue }
                // A stored theme is JSON this server wrote; anything that is not an object is left out.
                let theme = row.theme.flatMap { $0.readableBytesView.first == 0x7B && $0.readableBytesView.last == 0x7D ? JSONRawValue.buffer($0) : nil }
                PersonaJSON.write(to: &writer, id: .buffer(row.id), name: .buffer(row.name), description: row.description.map(JSONText.buffer),
                                  systemPrompt: row.systemPrompt.map(JSONText.buffer), theme: theme, ownerId: .buffer(row.ownerId),
                                  isActive: row.isActive, role: role, createdAt: row.createdAt, updatedAt: row.updatedAt)
                count += 1
            }
            return (writer, rows.count > page.limit ? String(buffer: rows[page.limit - 1].id) : nil)
        }
        struct Accumulator: Sendable {
            package var writer: JSONWriter
            package var count = 0
            package var lastId: String?
            package var more = false
        }
        let limit = page.limit
        let initial = Accumulator(writer: writer)
        let result = try await database.withNative { native -> Accumulator in
            guard case .sqlite(let connection) = native else { preconditionFailure("SQLite page on \(database.kind)") }
            return try await connection.reduce(parameters.sqliteSQL, parameters.sqliteBinds, into: initial) { page, row in
                if page.count == limit {
                    page.more = true
                    return
                }
                guard let id = row.textBytes(0), let owner = row.textBytes(1), let name = row.textBytes(2) else {
                    throw StorageError(.failed, "persona row without id, owner or name")
                }
                guard let role = parameters.role(ownedByCaller: Self.same(owner, user.id), memberRole: row.optionalText(9)) else { return }
                // A stored theme is JSON this server wrote; anything that is not an object is left out.
                let theme = row.textBytes(5).flatMap { $0.first == 0x7B && $0.last == 0x7D ? JSONRawValue.text($0) : nil }
                PersonaJSON.write(to: &page.writer, id: .bytes(id), name: .bytes(name), description: row.textBytes(3).map(JSONText.bytes),
                                  systemPrompt: row.textBytes(4).map(JSONText.bytes), theme: theme, ownerId: .bytes(owner),
                                  isActive: try row.bool(6), role: role, createdAt: try row.date(7), updatedAt: try row.date(8))
                page.count += 1
                if page.count == limit { page.lastId = String(decoding: id, as: UTF8.self) }
            }
        }
        return (result.writer, result.more ? result.lastId : nil)
    }

    private static func same(_ bytes: UnsafeBufferPointer<UInt8>, _ text: String) -> Bool {
        var text = text
        return text.withUTF8 { utf8 in
            utf8.count == bytes.count && (utf8.isEmpty || memcmp(utf8.baseAddress!, bytes.baseAddress!, utf8.count) == 0)
        }
    }
}
