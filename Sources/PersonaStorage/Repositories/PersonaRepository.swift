import Foundation
import PersonaKit
import SQLKit

/// `personas` and `persona_members` access, including the visibility rule: a persona is
/// visible to its owner, its members and admins.
package struct PersonaRepository: Sendable {
    package func insert(_ persona: Persona, on db: any SQLDatabase) async throws {
        try await db.insert(into: "personas")
            .columns("id", "owner_id", "name", "description", "system_prompt", "theme", "is_active", "created_at", "updated_at")
            .values(SQLBind(persona.id), SQLBind(persona.ownerId), SQLBind(persona.name), SQLBind(persona.description),
                    SQLBind(persona.systemPrompt), SQLBind(try persona.theme.map(JSONCoding.encodeString)),
                    SQLBind(persona.isActive), SQLBind(persona.createdAt), SQLBind(persona.updatedAt))
            .run()
    }

    package func find(id: String, on db: any SQLDatabase) async throws -> Persona? {
        try await db.select().column("*").from("personas").where("id", .equal, id).first().map(Persona.init(row:))
    }

    /// The persona and the caller's effective role, or `nil` when it does not exist or is
    /// not visible to the caller (both answer 404).
    package func access(personaId: String, user: AuthenticatedUser, on db: any SQLDatabase) async throws -> (Persona, MemberRole)? {
        guard let row = try await selectWithRole(userId: user.id, on: db)
            .where(SQLColumn("id", table: "p"), .equal, SQLBind(personaId)).first() else { return nil }
        let persona = try Persona(row: row)
        guard let role = try effectiveRole(persona: persona, row: row, user: user) else { return nil }
        return (persona, role)
    }

    /// Up to this many rows (an API page of at most 200, plus one to see whether more follow)
    /// a list read counts as short: it may run on the caller's thread (see `reduce`).
    package static let shortReadRows = 201

    /// Visible personas, newest first, paged by id: the hottest read of the API, so it skips
    /// SQLKit. PostgreSQL runs it as a prepared statement (parsed and planned once per
    /// connection, where SQLKit's queries are parsed and planned on every call, which costs
    /// the server more than running them); SQLite reads its columns by position from a
    /// statement prepared once per connection.
    package func listVisible(user: AuthenticatedUser, cursor: String?, limit: Int, in database: Database) async throws -> [(Persona, MemberRole)] {
        let parameters = PersonaListQuery.Parameters(user: user, cursor: cursor, limit: limit)
        let rows: [(Persona, memberRole: String?)] = try await database.withNative { native in
            switch native {
            case .postgres(let pages):
                return try await pages.rows(parameters).map(\.persona)
            case .sqlite(let connection):
                return try await connection.reduce(parameters.sqliteSQL, parameters.sqliteBinds, into: [],
                                                   short: limit <= Self.shortReadRows) { rows, row in
                    rows.append((Persona(listColumns: row.text(0), ownerId: row.text(1), name: row.text(2), description: row.optionalText(3),
                                         systemPrompt: row.optionalText(4), theme: row.optionalText(5), isActive: try row.bool(6),
                                         createdAt: try row.date(7), updatedAt: try row.date(8)),
                                 row.optionalText(9)))
                }
            }
        }
        return rows.compactMap { persona, memberRole in
            parameters.role(ownedByCaller: persona.ownerId == user.id, memberRole: memberRole).map { (persona, $0) }
        }
    }

    /// The ids of every persona `user` can see (owner or member); `nil` for an admin, who sees all.
    package func visibleIds(user: AuthenticatedUser, on db: any SQLDatabase) async throws -> Set<String>? {
        guard user.role != .admin else { return nil }
        let owned = try await db.select().column("id").from("personas").where("owner_id", .equal, user.id).all()
            .map { try $0.decode(column: "id", as: String.self) }
        let member = try await db.select().column("persona_id").from("persona_members").where("user_id", .equal, user.id).all()
            .map { try $0.decode(column: "persona_id", as: String.self) }
        return Set(owned).union(member)
    }

    private func selectWithRole(userId: String, on db: any SQLDatabase) -> SQLSelectBuilder {
        db.select()
            .column(SQLColumn(SQLLiteral.all, table: SQLIdentifier("p")))
            .column(SQLColumn("role", table: "m"), as: "member_role")
            .from(SQLAlias(SQLIdentifier("personas"), as: SQLIdentifier("p")))
            .join(SQLAlias(SQLIdentifier("persona_members"), as: SQLIdentifier("m")), method: SQLJoinMethod.left,
                  on: SQLBinaryExpression(
                    SQLBinaryExpression(SQLColumn("persona_id", table: "m"), .equal, SQLColumn("id", table: "p")),
                    .and,
                    SQLBinaryExpression(SQLColumn("user_id", table: "m"), .equal, SQLBind(userId))))
    }

    private func effectiveRole(persona: Persona, row: any SQLRow, user: AuthenticatedUser) throws -> MemberRole? {
        if user.role == .admin || persona.ownerId == user.id { return .owner }
        return try row.decode(column: "member_role", as: String?.self).flatMap(MemberRole.init(rawValue:))
    }

    package func update(_ persona: Persona, on db: any SQLDatabase) async throws {
        try await db.update("personas")
            .set("name", to: persona.name).set("description", to: persona.description)
            .set("system_prompt", to: persona.systemPrompt)
            .set("theme", to: try persona.theme.map(JSONCoding.encodeString))
            .set("is_active", to: persona.isActive).set("updated_at", to: persona.updatedAt)
            .where("id", .equal, persona.id).run()
    }

    package func delete(id: String, on db: any SQLDatabase) async throws {
        try await db.delete(from: "personas").where("id", .equal, id).run()
    }

    package func countOwned(by userId: String, on db: any SQLDatabase) async throws -> Int {
        try await db.select().column(SQLFunction("COUNT", args: SQLLiteral.all), as: "n").from("personas")
            .where("owner_id", .equal, userId).first()?.decode(column: "n", as: Int.self) ?? 0
    }

    // MARK: members

    package func members(personaId: String, on db: any SQLDatabase) async throws -> [MemberDTO] {
        try await db.select()
            .column(SQLColumn("user_id", table: "m")).column(SQLColumn("role", table: "m"))
            .column(SQLColumn("created_at", table: "m")).column(SQLColumn("email", table: "u"))
            .column(SQLColumn("name", table: "u"))
            .from(SQLAlias(SQLIdentifier("persona_members"), as: SQLIdentifier("m")))
            .join(SQLAlias(SQLIdentifier("users"), as: SQLIdentifier("u")), on: SQLColumn("user_id", table: "m"), .equal, SQLColumn("id", table: "u"))
            .where(SQLColumn("persona_id", table: "m"), .equal, SQLBind(personaId))
            .orderBy(SQLColumn("created_at", table: "m"))
            .all()
            .map { row in
                MemberDTO(userId: try row.decode(column: "user_id", as: String.self),
                          email: try row.decode(column: "email", as: String.self),
                          name: try row.decode(column: "name", as: String.self),
                          role: MemberRole(rawValue: try row.decode(column: "role", as: String.self)) ?? .viewer,
                          createdAt: try row.decode(column: "created_at", as: Date.self))
            }
    }

    /// Adds the member or changes their role; returns whether the row is new.
    package func upsertMember(personaId: String, userId: String, role: MemberRole, now: Date, on db: any SQLDatabase) async throws -> Bool {
        let existing = try await db.select().column("role").from("persona_members")
            .where("persona_id", .equal, personaId).where("user_id", .equal, userId).first()
        if existing == nil {
            try await db.insert(into: "persona_members").columns("persona_id", "user_id", "role", "created_at")
                .values(SQLBind(personaId), SQLBind(userId), SQLBind(role.rawValue), SQLBind(now)).run()
            return true
        }
        try await db.update("persona_members").set("role", to: role.rawValue)
            .where("persona_id", .equal, personaId).where("user_id", .equal, userId).run()
        return false
    }

    /// Removes a member; returns whether there was one.
    package func removeMember(personaId: String, userId: String, on db: any SQLDatabase) async throws -> Bool {
        try await db.delete(from: "persona_members").where("persona_id", .equal, personaId)
            .where("user_id", .equal, userId).returning("user_id").first() != nil
    }

    package init() {

    }
}
