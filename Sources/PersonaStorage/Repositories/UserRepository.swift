import Foundation
import SQLKit

/// `users` table access. Stateless: every method takes the connection or transaction to use.
package struct UserRepository: Sendable {
    package func insert(_ user: User, on db: any SQLDatabase) async throws {
        try await db.insert(into: "users")
            .columns("id", "email", "name", "password_hash", "role", "is_active", "created_at", "updated_at")
            .values(SQLBind(user.id), SQLBind(user.email), SQLBind(user.name), SQLBind(user.passwordHash),
                    SQLBind(user.role.rawValue), SQLBind(user.isActive), SQLBind(user.createdAt), SQLBind(user.updatedAt))
            .run()
    }

    package func find(id: String, on db: any SQLDatabase) async throws -> User? {
        try await db.select().column("*").from("users").where("id", .equal, id).first().map(User.init(row:))
    }

    package func find(email: String, on db: any SQLDatabase) async throws -> User? {
        try await db.select().column("*").from("users").where("email", .equal, email.lowercased())
            .first().map(User.init(row:))
    }

    /// Newest first, `limit` rows with ids below `cursor`.
    package func list(cursor: String?, limit: Int, on db: any SQLDatabase) async throws -> [User] {
        var query = db.select().column("*").from("users")
        if let cursor { query = query.where("id", .lessThan, cursor) }
        return try await query.orderBy("id", .descending).limit(limit).all().map(User.init(row:))
    }

    package func update(_ user: User, on db: any SQLDatabase) async throws {
        try await db.update("users")
            .set("email", to: user.email).set("name", to: user.name).set("password_hash", to: user.passwordHash)
            .set("role", to: user.role.rawValue).set("is_active", to: user.isActive)
            .set("updated_at", to: user.updatedAt)
            .where("id", .equal, user.id).run()
    }

    package func recordLogin(id: String, at date: Date, on db: any SQLDatabase) async throws {
        try await db.update("users").set("last_login_at", to: date).where("id", .equal, id).run()
    }

    package func delete(id: String, on db: any SQLDatabase) async throws {
        try await db.delete(from: "users").where("id", .equal, id).run()
    }

    package func count(on db: any SQLDatabase) async throws -> Int {
        try await db.select().column(SQLFunction("COUNT", args: SQLLiteral.all), as: "n").from("users")
            .first()?.decode(column: "n", as: Int.self) ?? 0
    }

    package func countActiveAdmins(on db: any SQLDatabase) async throws -> Int {
        try await db.select().column(SQLFunction("COUNT", args: SQLLiteral.all), as: "n").from("users")
            .where("role", .equal, UserRole.admin.rawValue).where("is_active", .equal, true)
            .first()?.decode(column: "n", as: Int.self) ?? 0
    }

    package init() {

    }
}
