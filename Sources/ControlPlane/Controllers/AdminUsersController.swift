import Foundation
import Hummingbird
import PersonaKit
import PersonaStorage

/// `/api/admin/users[/{id}]`: user management for admins.
struct AdminUsersController: Sendable {
    let database: Database
    let passwords: PasswordHasher
    let sessions: SessionCache
    let users = UserRepository()
    let sessionStore = SessionRepository()
    let audit = AuditRepository()

    struct CreateBody: StrictBody {
        var email: String
        var name: String
        var password: String
        var role: UserRole?
        static let fields: Set<String> = ["email", "name", "password", "role"]
    }

    struct UpdateBody: StrictBody {
        var email: String?
        var name: String?
        var password: String?
        var role: UserRole?
        var isActive: Bool?
        static let fields: Set<String> = ["email", "name", "password", "role", "isActive"]
    }

    func addRoutes(to group: RouterGroup<AppRequestContext>) {
        group.get { request, context in
            _ = try context.requireAdmin()
            let page = try Page(request: request)
            let rows = try await database.withConnection {
                try await self.users.list(cursor: page.cursor, limit: page.limit + 1, on: $0)
            }
            let (users, next) = page.split(rows, id: \.id)
            return try JSONResponse.data(users.map(\.dto), nextCursor: next)
        }
        group.post { request, context in
            _ = try context.requireAdmin()
            let body = try await request.decodeJSON(CreateBody.self, limit: 16_384)
            return try JSONResponse.data(try await create(body, context: context), status: .created)
        }
        group.get("{id}") { _, context in
            _ = try context.requireAdmin()
            return try JSONResponse.data(try await load(context.id(what: "User")).dto)
        }
        group.patch("{id}") { request, context in
            _ = try context.requireAdmin()
            let id = try context.id(what: "User")
            let body = try await request.decodeJSON(UpdateBody.self, limit: 16_384)
            return try JSONResponse.data(try await update(id: id, body, context: context))
        }
        group.delete("{id}") { _, context in
            let admin = try context.requireAdmin()
            let id = try context.id(what: "User")
            guard id != admin.id else { throw APIError.conflict("You cannot delete your own account") }
            let user = try await load(id)
            try await database.transaction { tx in
                if user.role == .admin, user.isActive, try await users.countActiveAdmins(on: tx) <= 1 {
                    throw APIError.conflict("The last active administrator cannot be deleted")
                }
                try await users.delete(id: id, on: tx)
                try await audit.insert(AuditEvent(context, type: "user.deleted", category: "user",
                                                           description: "User deleted",
                                                           metadata: ["targetUserId": id, "email": user.email]), on: tx)
            }
            sessions.remove(userId: id)
            return JSONResponse.noContent()
        }
    }

    private func load(_ id: String) async throws -> User {
        guard let user = try await database.withConnection({ try await users.find(id: id, on: $0) })
        else { throw APIError.notFound("User") }
        return user
    }

    private func create(_ body: CreateBody, context: AppRequestContext) async throws -> UserDTO {
        let email = try Validate.email(body.email)
        let name = try Validate.text(body.name, field: "name", max: 100)
        try PasswordHasher.validate(body.password)
        let user = User(id: Identifier.make(), email: email, name: name,
                        passwordHash: try await passwords.hash(body.password),
                        role: body.role ?? .user, isActive: true, now: Date())
        do {
            try await database.transaction { tx in
                try await users.insert(user, on: tx)
                try await audit.insert(AuditEvent(context, type: "user.created", category: "user",
                                                           description: "User created",
                                                           metadata: ["targetUserId": user.id, "email": email,
                                                                      "role": user.role.rawValue]), on: tx)
            }
        } catch let error as StorageError where error.code == .conflict {
            throw APIError.conflict("A user with that email already exists")
        }
        return user.dto
    }

    private func update(id: String, _ body: UpdateBody, context: AppRequestContext) async throws -> UserDTO {
        let admin = try context.requireAdmin()
        var user = try await load(id)
        var changed: [String] = []
        if let email = body.email { user.email = try Validate.email(email); changed.append("email") }
        if let name = body.name { user.name = try Validate.text(name, field: "name", max: 100); changed.append("name") }
        if let password = body.password {
            try PasswordHasher.validate(password)
            user.passwordHash = try await passwords.hash(password)
            changed.append("password")
        }
        if let role = body.role, role != user.role { user.role = role; changed.append("role") }
        if let active = body.isActive, active != user.isActive { user.isActive = active; changed.append("isActive") }
        guard !changed.isEmpty else { return user.dto }
        if id == admin.id, user.role != .admin || !user.isActive {
            throw APIError.conflict("You cannot demote or disable your own account")
        }
        user.updatedAt = Date()
        let final = user
        let fields = changed
        let endSessions = fields.contains("password") || fields.contains("role") || !final.isActive
        do {
            try await database.transaction { tx in
                try await users.update(final, on: tx)
                if try await users.countActiveAdmins(on: tx) == 0 {
                    throw APIError.conflict("The last active administrator cannot be demoted or disabled")
                }
                if endSessions {
                    _ = try await sessionStore.revokeAll(userId: id, reason: final.isActive ? "user_changed" : "user_disabled",
                                                                  at: Date(), on: tx)
                }
                try await audit.insert(AuditEvent(context, type: final.isActive ? "user.updated" : "user.disabled",
                                                           category: "user", description: "User updated by an administrator",
                                                           metadata: ["targetUserId": id, "fields": fields]), on: tx)
            }
        } catch let error as StorageError where error.code == .conflict {
            throw APIError.conflict("A user with that email already exists")
        }
        sessions.remove(userId: id)
        return final.dto
    }
}
