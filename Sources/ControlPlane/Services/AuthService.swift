import Foundation
import Logging
import PersonaKit
import PersonaStorage

/// Tokens handed out by login and refresh.
struct TokenPair: Codable, Sendable {
    var accessToken: String
    var refreshToken: String
    var tokenType = "Bearer"
    var expiresIn: Int
    var user: UserDTO
}

/// Login, refresh rotation with reuse detection, logout, and the per-request session check.
struct AuthService: Sendable {
    let database: Database
    let tokens: TokenService
    let passwords: PasswordHasher
    let sessions: SessionCache
    let loginAccountLimiter: RateLimiter
    let loginAddressLimiter: RateLimiter
    let decoyPasswordHash: String
    let users = UserRepository()
    let sessionStore = SessionRepository()
    let audit = AuditRepository()

    func login(email rawEmail: String, password: String, context: AppRequestContext, address: String,
               userAgent: String?) async throws -> TokenPair {
        let email = rawEmail.trimmingCharacters(in: .whitespaces).lowercased()
        let addressDecision = loginAddressLimiter.hit(address)
        let accountDecision = loginAccountLimiter.check(email)
        guard addressDecision.allowed, accountDecision.allowed else {
            try await recordFailure(email: email, reason: "rate_limited", context: context)
            throw APIError.rateLimited(retryAfter: max(addressDecision.allowed ? 0 : addressDecision.retryAfter,
                                                       accountDecision.allowed ? 0 : accountDecision.retryAfter),
                                       "Too many login attempts; try again later")
        }
        let db = database
        let user = try await db.withConnection { try await users.find(email: email, on: $0) }
        let matches = try await passwords.verify(password, hash: user?.passwordHash ?? decoyPasswordHash)
        guard let user, matches, user.isActive else {
            _ = loginAccountLimiter.hit(email)
            try await recordFailure(email: email, reason: user == nil || !matches ? "bad_credentials" : "disabled",
                                    context: context, userId: user?.id)
            throw APIError(.unauthorized, code: "invalid_credentials", "Invalid email or password")
        }
        loginAccountLimiter.reset(email)
        let now = Date()
        let sessionId = Identifier.make()
        let refresh = tokens.makeRefreshToken()
        let expires = now.addingTimeInterval(tokens.refreshLifetime)
        try await db.transaction { tx in
            try await sessionStore.create(id: sessionId, userId: user.id, expiresAt: expires,
                                                   clientAddress: address, userAgent: userAgent, now: now, on: tx)
            try await sessionStore.insertRefreshToken(id: Identifier.make(), sessionId: sessionId,
                                                               hash: refresh.hash, expiresAt: expires, now: now, on: tx)
            try await users.recordLogin(id: user.id, at: now, on: tx)
            try await audit.insert(AuditEvent(context, type: "auth.login", category: "auth",
                                                       description: "User logged in", userId: user.id,
                                                       metadata: ["sessionId": sessionId]), on: tx)
        }
        var dto = user.dto
        dto.lastLoginAt = now
        return TokenPair(accessToken: try await tokens.signAccessToken(userId: user.id, sessionId: sessionId,
                                                                                role: user.role, now: now),
                         refreshToken: refresh.token, expiresIn: Int(tokens.accessLifetime), user: dto)
    }

    private func recordFailure(email: String, reason: String, context: AppRequestContext, userId: String? = nil) async throws {
        try await database.withConnection { db in
            try await audit.insert(AuditEvent(context, type: "auth.login_failed", category: "auth",
                                                       description: "Login failed", userId: userId,
                                                       metadata: ["email": email, "reason": reason]), on: db)
        }
    }

    /// Exchanges a refresh token for a new pair. A token that was already exchanged revokes
    /// its whole family (the session) and every token in it.
    func refresh(token: String, context: AppRequestContext) async throws -> TokenPair {
        let hash = tokens.hashRefreshToken(token)
        let now = Date()
        let invalid = APIError(.unauthorized, code: "invalid_refresh_token", "Refresh token is invalid or expired")
        let result: (User, String, String)? = try await database.transaction { tx in
            switch try await sessionStore.rotateRefreshToken(hash: hash, now: now, on: tx) {
            case .invalid:
                return nil
            case .reused(let sessionId):
                try await sessionStore.revoke(id: sessionId, reason: "refresh_reuse", at: now, on: tx)
                let owner = try await sessionStore.find(id: sessionId, on: tx)?.userId
                try await audit.insert(AuditEvent(context, type: "auth.refresh_reuse", category: "auth",
                                                           description: "Rotated refresh token presented again; session revoked",
                                                           userId: owner, metadata: ["sessionId": sessionId]), on: tx)
                sessions.remove(sessionId)
                return nil
            case .rotated(let sessionId):
                guard let session = try await sessionStore.find(id: sessionId, on: tx),
                      session.revokedAt == nil, session.expiresAt > now, session.userActive,
                      let user = try await users.find(id: session.userId, on: tx)
                else { return nil }
                let next = tokens.makeRefreshToken()
                try await sessionStore.insertRefreshToken(id: Identifier.make(), sessionId: sessionId, hash: next.hash,
                                                                   expiresAt: session.expiresAt, now: now, on: tx)
                try await audit.insert(AuditEvent(context, type: "auth.refresh", category: "auth",
                                                           description: "Tokens refreshed", userId: user.id,
                                                           metadata: ["sessionId": sessionId]), on: tx)
                return (user, sessionId, next.token)
            }
        }
        guard let (user, sessionId, refreshToken) = result else { throw invalid }
        return TokenPair(accessToken: try await tokens.signAccessToken(userId: user.id, sessionId: sessionId,
                                                                                role: user.role, now: now),
                         refreshToken: refreshToken, expiresIn: Int(tokens.accessLifetime), user: user.dto)
    }

    /// Revokes the caller's session: its access tokens stop working at once, its refresh
    /// tokens can no longer be exchanged.
    func logout(context: AppRequestContext) async throws {
        let user = try context.requireUser()
        try await database.transaction { tx in
            try await sessionStore.revoke(id: user.sessionId, reason: "logout", at: Date(), on: tx)
            try await audit.insert(AuditEvent(context, type: "auth.logout", category: "auth",
                                                       description: "User logged out",
                                                       metadata: ["sessionId": user.sessionId]), on: tx)
        }
        sessions.remove(user.sessionId)
    }

    /// The user behind a bearer token, if the token is valid and its session still open.
    func authenticate(bearer token: String) async throws -> AuthenticatedUser? {
        guard let claims = await tokens.verifyAccessToken(token) else { return nil }
        let record: SessionRecord
        if let cached = sessions.get(claims.sid) {
            record = cached
        } else {
            guard let fresh = try await database.withConnection({ try await sessionStore.find(id: claims.sid, on: $0) })
            else { return nil }
            sessions.put(fresh)
            record = fresh
        }
        guard record.userId == claims.sub.value, record.revokedAt == nil, record.userActive,
              record.expiresAt > Date() else { return nil }
        return AuthenticatedUser(id: record.userId, role: record.role, sessionId: record.id)
    }
}
