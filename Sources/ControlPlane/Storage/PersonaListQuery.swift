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

    static func row(_ row: PostgresRow) throws -> PersonaListRow {
        let c = try row.decode(Columns.self)
        return PersonaListRow(id: c.0, ownerId: c.1, name: c.2, description: c.3, systemPrompt: c.4, theme: c.5,
                              isActive: c.6, createdAt: c.7, updatedAt: c.8, memberRole: c.9)
    }

    /// The first page.
    struct First: PostgresPreparedStatement {
        static let sql = PersonaListQuery.firstSQL
        var userId: String
        var isAdmin: Bool
        var limit: Int

        func makeBindings() throws -> PostgresBindings {
            var bindings = PostgresBindings(capacity: 3)
            bindings.append(userId)
            bindings.append(isAdmin)
            bindings.append(limit)
            return bindings
        }

        func decodeRow(_ row: PostgresRow) throws -> PersonaListRow { try PersonaListQuery.row(row) }
    }

    /// A page after `cursor` (the last id of the page before).
    struct After: PostgresPreparedStatement {
        static let sql = PersonaListQuery.afterSQL
        var userId: String
        var isAdmin: Bool
        var cursor: String
        var limit: Int

        func makeBindings() throws -> PostgresBindings {
            var bindings = PostgresBindings(capacity: 4)
            bindings.append(userId)
            bindings.append(isAdmin)
            bindings.append(cursor)
            bindings.append(limit)
            return bindings
        }

        func decodeRow(_ row: PostgresRow) throws -> PersonaListRow { try PersonaListQuery.row(row) }
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
