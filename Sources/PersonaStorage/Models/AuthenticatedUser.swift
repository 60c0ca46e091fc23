

/// The user a request acts for, once ``AuthMiddleware`` has checked its token and session.
public struct AuthenticatedUser: Sendable, Equatable {
    public var id: String
    public var role: UserRole
    public var sessionId: String

    package init(id: String, role: UserRole, sessionId: String) {
        self.id = id
        self.role = role
        self.sessionId = sessionId
    }
}
