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
    let services: AppServices

    func login(email rawEmail: String, password: String, context: AppRequestContext, address: String,
               userAgent: String?) async throws -> TokenPair {
        let email = rawEmail.trimmingCharacters(in: .whitespaces).lowercased()
        let addressDecision = services.loginAddressLimiter.hit(address)
        let accountDecision = services.loginAccountLimiter.check(email)
        guard addressDecision.allowed, accountDecision.allowed else {
            try await recordFailure(email: email, reason: "rate_limited", context: context)
            throw APIError.rateLimited(retryAfter: max(addressDecision.allowed ? 0 : addressDecision.retryAfter,
                                                       accountDecision.allowed ? 0 : accountDecision.retryAfter),
                                       "Too many login attempts; try again later")
        }
        let db = services.database
        let user = try await db.withConnection { try await services.users.find(email: email, on: $0) }
        let matches = try await services.passwords.verify(password, hash: user?.passwordHash ?? services.decoyPasswordHash)
        guard let user, matches, user.isActive else {
            _ = services.loginAccountLimiter.hit(email)
            try await recordFailure(email: email, reason: user == nil || !matches ? "bad_credentials" : "disabled",
                                    context: context, userId: user?.id)
            throw APIError(.unauthorized, code: "invalid_credentials", "Invalid email or password")
        }
        services.loginAccountLimiter.reset(email)
        let now = Date()
        let sessionId = Identifier.make()
        let refresh = services.tokens.makeRefreshToken()
        let expires = now.addingTimeInterval(services.tokens.refreshLifetime)
        try await db.transaction { tx in
            try await services.sessionStore.create(id: sessionId, userId: user.id, expiresAt: expires,
                                                   clientAddress: address, userAgent: userAgent, now: now, on: tx)
            try await services.sessionStore.insertRefreshToken(id: Identifier.make(), sessionId: sessionId,
                                                               hash: refresh.hash, expiresAt: expires, now: now, on: tx)
            try await services.users.recordLogin(id: user.id, at: now, on: tx)
            try await services.audit.insert(AuditEvent(context, type: "auth.login", category: "auth",
                                                       description: "User logged in", userId: user.id,
                                                       metadata: ["sessionId": sessionId]), on: tx)
        }
        var dto = user.dto
        dto.lastLoginAt = now
        return TokenPair(accessToken: try await services.tokens.signAccessToken(userId: user.id, sessionId: sessionId,
                                                                                role: user.role, now: now),
                         refreshToken: refresh.token, expiresIn: Int(services.tokens.accessLifetime), user: dto)
    }

    private func recordFailure(email: String, reason: String, context: AppRequestContext, userId: String? = nil) async throws {
        try await services.database.withConnection { db in
            try await services.audit.insert(AuditEvent(context, type: "auth.login_failed", category: "auth",
                                                       description: "Login failed", userId: userId,
                                                       metadata: ["email": email, "reason": reason]), on: db)
        }
    }

    /// Exchanges a refresh token for a new pair. A token that was already exchanged revokes
    /// its whole family (the session) and every token in it.
    func refresh(token: String, context: AppRequestContext) async throws -> TokenPair {
        let hash = services.tokens.hashRefreshToken(token)
        let now = Date()
        let invalid = APIError(.unauthorized, code: "invalid_refresh_token", "Refresh token is invalid or expired")
        let result: (User, String, String)? = try await services.database.transaction { tx in
            switch try await services.sessionStore.rotateRefreshToken(hash: hash, now: now, on: tx) {
            case .invalid:
                return nil
            case .reused(let sessionId):
                try await services.sessionStore.revoke(id: sessionId, reason: "refresh_reuse", at: now, on: tx)
                let owner = try await services.sessionStore.find(id: sessionId, on: tx)?.userId
                try await services.audit.insert(AuditEvent(context, type: "auth.refresh_reuse", category: "auth",
                                                           description: "Rotated refresh token presented again; session revoked",
                                                           userId: owner, metadata: ["sessionId": sessionId]), on: tx)
                services.sessions.remove(sessionId)
                return nil
            case .rotated(let sessionId):
                guard let session = try await services.sessionStore.find(id: sessionId, on: tx),
                      session.revokedAt == nil, session.expiresAt > now, session.userActive,
                      let user = try await services.users.find(id: session.userId, on: tx)
                else { return nil }
                let next = services.tokens.makeRefreshToken()
                try await services.sessionStore.insertRefreshToken(id: Identifier.make(), sessionId: sessionId, hash: next.hash,
                                                                   expiresAt: session.expiresAt, now: now, on: tx)
                try await services.audit.insert(AuditEvent(context, type: "auth.refresh", category: "auth",
                                                           description: "Tokens refreshed", userId: user.id,
                                                           metadata: ["sessionId": sessionId]), on: tx)
                return (user, sessionId, next.token)
            }
        }
        guard let (user, sessionId, refreshToken) = result else { throw invalid }
        return TokenPair(accessToken: try await services.tokens.signAccessToken(userId: user.id, sessionId: sessionId,
                                                                                role: user.role, now: now),
                         refreshToken: refreshToken, expiresIn: Int(services.tokens.accessLifetime), user: user.dto)
    }

    /// Revokes the caller's session: its access tokens stop working at once, its refresh
    /// tokens can no longer be exchanged.
    func logout(context: AppRequestContext) async throws {
        let user = try context.requireUser()
        try await services.database.transaction { tx in
            try await services.sessionStore.revoke(id: user.sessionId, reason: "logout", at: Date(), on: tx)
            try await services.audit.insert(AuditEvent(context, type: "auth.logout", category: "auth",
                                                       description: "User logged out",
                                                       metadata: ["sessionId": user.sessionId]), on: tx)
        }
        services.sessions.remove(user.sessionId)
    }

    /// The user behind a bearer token, if the token is valid and its session still open.
    func authenticate(bearer token: String) async throws -> AuthenticatedUser? {
        guard let claims = await services.tokens.verifyAccessToken(token) else { return nil }
        let record: SessionRecord
        if let cached = services.sessions.get(claims.sid) {
            record = cached
        } else {
            guard let fresh = try await services.database.withConnection({ try await services.sessionStore.find(id: claims.sid, on: $0) })
            else { return nil }
            services.sessions.put(fresh)
            record = fresh
        }
        guard record.userId == claims.sub.value, record.revokedAt == nil, record.userActive,
              record.expiresAt > Date() else { return nil }
        return AuthenticatedUser(id: record.userId, role: record.role, sessionId: record.id)
    }
}
