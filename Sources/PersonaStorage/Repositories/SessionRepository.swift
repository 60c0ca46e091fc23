import Foundation
import SQLKit

/// A login session joined with the state of its user, as the auth check needs it.
package struct SessionRecord: Sendable {
    package var id: String
    package var userId: String
    package var expiresAt: Date
    package var revokedAt: Date?
    package var userActive: Bool
    package var role: UserRole

    package init(id: String, userId: String, expiresAt: Date, revokedAt: Date? = nil, userActive: Bool, role: UserRole) {
        self.id = id
        self.userId = userId
        self.expiresAt = expiresAt
        self.revokedAt = revokedAt
        self.userActive = userActive
        self.role = role
    }
}

/// What happened when a refresh token was presented.
package enum RefreshOutcome: Sendable {
    /// Valid and now rotated: the session it belongs to.
    case rotated(sessionId: String)
    /// Already rotated before: a replay. The caller revokes the family.
    case reused(sessionId: String)
    /// Unknown or expired.
    case invalid
}

/// `sessions` and `refresh_tokens` access.
package struct SessionRepository: Sendable {
    package func create(id: String, userId: String, expiresAt: Date, clientAddress: String?, userAgent: String?,
                now: Date, on db: any SQLDatabase) async throws {
        try await db.insert(into: "sessions")
            .columns("id", "user_id", "created_at", "expires_at", "client_address", "user_agent")
            .values(SQLBind(id), SQLBind(userId), SQLBind(now), SQLBind(expiresAt), SQLBind(clientAddress),
                    SQLBind(userAgent.map { String($0.prefix(256)) }))
            .run()
    }

    package func find(id: String, on db: any SQLDatabase) async throws -> SessionRecord? {
        guard let row = try await db.select()
            .column(SQLColumn("id", table: "s")).column(SQLColumn("user_id", table: "s"))
            .column(SQLColumn("expires_at", table: "s")).column(SQLColumn("revoked_at", table: "s"))
            .column(SQLColumn("is_active", table: "u")).column(SQLColumn("role", table: "u"))
            .from(SQLAlias(SQLIdentifier("sessions"), as: SQLIdentifier("s")))
            .join(SQLAlias(SQLIdentifier("users"), as: SQLIdentifier("u")), on: SQLColumn("user_id", table: "s"), .equal, SQLColumn("id", table: "u"))
            .where(SQLColumn("id", table: "s"), .equal, SQLBind(id))
            .first()
        else { return nil }
        return SessionRecord(
            id: try row.decode(column: "id", as: String.self),
            userId: try row.decode(column: "user_id", as: String.self),
            expiresAt: try row.decode(column: "expires_at", as: Date.self),
            revokedAt: try row.decode(column: "revoked_at", as: Date?.self),
            userActive: try row.decode(column: "is_active", as: Bool.self),
            role: UserRole(rawValue: try row.decode(column: "role", as: String.self)) ?? .user)
    }

    package func revoke(id: String, reason: String, at date: Date, on db: any SQLDatabase) async throws {
        try await db.update("sessions").set("revoked_at", to: date).set("revoke_reason", to: reason)
            .where("id", .equal, id).where("revoked_at", .is, SQLLiteral.null).run()
    }

    /// Revokes every open session of a user; returns their ids so caches can drop them.
    package func revokeAll(userId: String, except keep: String? = nil, reason: String, at date: Date,
                   on db: any SQLDatabase) async throws -> [String] {
        var query = db.update("sessions").set("revoked_at", to: date).set("revoke_reason", to: reason)
            .where("user_id", .equal, userId).where("revoked_at", .is, SQLLiteral.null)
        if let keep { query = query.where("id", .notEqual, keep) }
        let rows = try await query.returning("id").all()
        return try rows.map { try $0.decode(column: "id", as: String.self) }
    }

    package func insertRefreshToken(id: String, sessionId: String, hash: String, expiresAt: Date, now: Date,
                            on db: any SQLDatabase) async throws {
        try await db.insert(into: "refresh_tokens")
            .columns("id", "session_id", "token_hash", "created_at", "expires_at")
            .values(SQLBind(id), SQLBind(sessionId), SQLBind(hash), SQLBind(now), SQLBind(expiresAt))
            .run()
    }

    /// Marks the token rotated in one conditional update, so two concurrent presentations of
    /// the same token cannot both succeed: the loser sees a replay.
    package func rotateRefreshToken(hash: String, now: Date, on db: any SQLDatabase) async throws -> RefreshOutcome {
        if let row = try await db.update("refresh_tokens").set("rotated_at", to: now)
            .where("token_hash", .equal, hash).where("rotated_at", .is, SQLLiteral.null)
            .where("expires_at", .greaterThan, now)
            .returning("session_id").first() {
            return .rotated(sessionId: try row.decode(column: "session_id", as: String.self))
        }
        guard let row = try await db.select().column("session_id").column("rotated_at").from("refresh_tokens")
            .where("token_hash", .equal, hash).first() else { return .invalid }
        if try row.decode(column: "rotated_at", as: Date?.self) != nil {
            return .reused(sessionId: try row.decode(column: "session_id", as: String.self))
        }
        return .invalid
    }

    package init() {

    }
}
