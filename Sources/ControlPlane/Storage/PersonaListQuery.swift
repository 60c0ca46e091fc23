import Foundation
import PersonaKit
import PostgresNIO

/// One row of the persona list: the persona's columns and the caller's membership role.
struct PersonaListRow: Sendable {
    var id: String
    var ownerId: String
    var name: String
    var description: String?
    var systemPrompt: String?
    var theme: String?
    var isActive: Bool
    var createdAt: Date
    var updatedAt: Date
    var memberRole: String?
}

/// The persona list's SQL, the same text on both engines: `$n` parameters, which SQLite reads
/// as `?n` (the text below swaps the sign). `$2` is whether the caller is an admin (who sees
/// every persona).
enum PersonaListQuery {
    private static let select = """
        SELECT p.id, p.owner_id, p.name, p.description, p.system_prompt, p.theme, p.is_active, p.created_at, p.updated_at,
               m.role
        FROM personas p LEFT JOIN persona_members m ON m.persona_id = p.id AND m.user_id = $1
        WHERE ($2 OR p.owner_id = $1 OR m.role IS NOT NULL)
        """
    static let firstSQL = select + " ORDER BY p.id DESC LIMIT $3"
    static let afterSQL = select + " AND p.id < $3 ORDER BY p.id DESC LIMIT $4"
    static let firstSQLite = firstSQL.replacingOccurrences(of: "$", with: "?")
    static let afterSQLite = afterSQL.replacingOccurrences(of: "$", with: "?")

    typealias Columns = (String, String, String, String?, String?, String?, Bool, Date, Date, String?)

    /// What one list query binds, in `$n` order.
    struct Parameters: Sendable {
        var userId: String
        var isAdmin: Bool
        var cursor: String?
        var limit: Int

        init(user: AuthenticatedUser, cursor: String?, limit: Int) {
            (userId, isAdmin, self.cursor, self.limit) = (user.id, user.role == .admin, cursor, limit)
        }

        var sqliteSQL: String { cursor == nil ? PersonaListQuery.firstSQLite : PersonaListQuery.afterSQLite }

        var sqliteBinds: [SQLiteValue] {
            [.text(userId), .integer(isAdmin ? 1 : 0)] + (cursor.map { [SQLiteValue.text($0)] } ?? []) + [.integer(Int64(limit))]
        }

        var postgresBindings: PostgresBindings {
            var bindings = PostgresBindings(capacity: 4)
            bindings.append(userId)
            bindings.append(isAdmin)
            if let cursor { bindings.append(cursor) }
            bindings.append(limit)
            return bindings
        }

        /// The caller's role on a listed persona; `nil` when the row is not theirs to see.
        func role(ownedByCaller: Bool, memberRole: String?) -> MemberRole? {
            isAdmin || ownedByCaller ? .owner : memberRole.flatMap(MemberRole.init(rawValue:))
        }
    }

    /// The two prepared statements, told apart by their SQL only.
    protocol Statement: PostgresPreparedStatement where Row == PersonaListRow {
        var parameters: Parameters { get }
    }

    /// The first page.
    struct First: Statement {
        static let sql = PersonaListQuery.firstSQL
        var parameters: Parameters
    }

    /// A page after `parameters.cursor` (the last id of the page before).
    struct After: Statement {
        static let sql = PersonaListQuery.afterSQL
        var parameters: Parameters
    }
}

extension PersonaListQuery.Statement {
    func makeBindings() throws -> PostgresBindings { parameters.postgresBindings }

    func decodeRow(_ row: PostgresRow) throws -> PersonaListRow {
        let c = try row.decode(PersonaListQuery.Columns.self)
        return PersonaListRow(id: c.0, ownerId: c.1, name: c.2, description: c.3, systemPrompt: c.4, theme: c.5,
                              isActive: c.6, createdAt: c.7, updatedAt: c.8, memberRole: c.9)
    }
}

extension Persona {
    init(listRow row: PersonaListRow) {
        self.init(id: row.id, ownerId: row.ownerId, name: row.name, description: row.description, systemPrompt: row.systemPrompt,
                  theme: row.theme.flatMap { try? JSONCoding.decode(JSONValue.self, from: $0) }, now: row.createdAt)
        isActive = row.isActive
        updatedAt = row.updatedAt
    }
}

extension PersonaRepository {
    /// One page of the list as JSON (the writer holds `{"data":[` and the page's personas) and
    /// the next page's cursor. On SQLite the rows are written straight from the statement's
    /// columns, with no string, persona or DTO made of them: this is the hottest read of the
    /// API and most of its cost was those copies. PostgreSQL rows go through the DTO.
    func listPage(user: AuthenticatedUser, page: Page, in database: Database) async throws -> (JSONWriter, String?) {
        if database.kind == .postgres {
            let (rows, next) = page.split(try await listVisible(user: user, cursor: page.cursor, limit: page.limit + 1, in: database),
                                          id: \.0.id)
            var writer = JSONResponse.pageStart(capacity: 512 * max(1, rows.count))
            for (persona, role) in rows { persona.dto(role: role).write(to: &writer) }
            return (writer, next)
        }
        struct Accumulator: Sendable {
            var writer: JSONWriter
            var count = 0
            var lastId: String?
            var more = false
        }
        let parameters = PersonaListQuery.Parameters(user: user, cursor: page.cursor, limit: page.limit + 1)
        let limit = page.limit
        let initial = Accumulator(writer: JSONResponse.pageStart(capacity: 8192))
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
