import Foundation
import Hummingbird
import PersonaKit
import PersonaStorage

/// `/api/auth/*` and `/api/users/me`.
struct AuthController: Sendable {
    let database: Database
    let passwords: PasswordHasher
    let sessions: SessionCache
    /// Take the client address from `X-Forwarded-For` (`TRUST_PROXY`).
    let trustProxy: Bool
    let users = UserRepository()
    let sessionStore = SessionRepository()
    let audit = AuditRepository()
    let auth: AuthService

    struct LoginBody: StrictBody {
        var email: String
        var password: String
        static let fields: Set<String> = ["email", "password"]
    }

    struct RefreshBody: StrictBody {
        var refreshToken: String
        static let fields: Set<String> = ["refreshToken"]
    }

    struct UpdateMeBody: StrictBody {
        var name: String?
        var currentPassword: String?
        var newPassword: String?
        static let fields: Set<String> = ["name", "currentPassword", "newPassword"]
    }

    func addPublicRoutes(to group: RouterGroup<AppRequestContext>) {
        group.post("login") { request, context in
            let body = try await request.decodeJSON(LoginBody.self, limit: 16_384)
            let address = context.clientAddress(request.headers[.xForwardedFor], trustProxy: trustProxy)
            let pair = try await auth.login(email: body.email, password: body.password, context: context,
                                            address: address, userAgent: request.headers[.userAgent])
            return try JSONResponse.data(pair)
        }
        group.post("refresh") { request, context in
            let body = try await request.decodeJSON(RefreshBody.self, limit: 16_384)
            return try JSONResponse.data(try await auth.refresh(token: body.refreshToken, context: context))
        }
    }

    func addAuthenticatedRoutes(auth authGroup: RouterGroup<AppRequestContext>, users: RouterGroup<AppRequestContext>) {
        authGroup.post("logout") { _, context in
            try await auth.logout(context: context)
            return JSONResponse.noContent()
        }
        users.get("me") { _, context in
            let identity = try context.requireUser()
            guard let user = try await database.withConnection({ try await self.users.find(id: identity.id, on: $0) })
            else { throw APIError.unauthorized() }
            return try JSONResponse.data(user.dto)
        }
        users.patch("me") { request, context in
            let identity = try context.requireUser()
            let body = try await request.decodeJSON(UpdateMeBody.self, limit: 16_384)
            return try JSONResponse.data(try await updateMe(identity: identity, body: body, context: context))
        }
    }

    private func updateMe(identity: AuthenticatedUser, body: UpdateMeBody, context: AppRequestContext) async throws -> UserDTO {
        guard var user = try await database.withConnection({ try await self.users.find(id: identity.id, on: $0) })
        else { throw APIError.unauthorized() }
        var changed: [String] = []
        if let name = body.name {
            user.name = try Validate.text(name, field: "name", max: 100)
            changed.append("name")
        }
        if let newPassword = body.newPassword {
            guard let current = body.currentPassword,
                  try await passwords.verify(current, hash: user.passwordHash) else {
                throw APIError(.forbidden, code: "invalid_credentials", "currentPassword is not correct")
            }
            try PasswordHasher.validate(newPassword)
            user.passwordHash = try await passwords.hash(newPassword)
            changed.append("password")
        }
        guard !changed.isEmpty else { throw APIError.validation("Nothing to change") }
        user.updatedAt = Date()
        let final = user
        let fields = changed
        let revoked = try await database.transaction { tx in
            try await users.update(final, on: tx)
            var revoked: [String] = []
            if fields.contains("password") {
                // Every other session ends with a password change; this one stays.
                revoked = try await sessionStore.revokeAll(userId: final.id, except: identity.sessionId,
                                                                    reason: "password_changed", at: Date(), on: tx)
            }
            try await audit.insert(AuditEvent(context, type: "user.updated_self", category: "user",
                                                       description: "User changed their profile",
                                                       metadata: ["fields": fields]), on: tx)
            return revoked
        }
        for id in revoked { sessions.remove(id) }
        return final.dto
    }
}
