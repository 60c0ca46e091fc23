import Foundation
import SQLKit

/// A user's role on the platform.
public enum UserRole: String, Codable, Sendable, CaseIterable {
    case admin
    case user
}

/// A user row (`users`). The password hash never leaves the server: ``UserDTO`` is what
/// responses carry.
public struct User: Sendable, Equatable {
    public var id: String
    public var email: String
    public var name: String
    public var passwordHash: String
    public var role: UserRole
    public var isActive: Bool
    public var createdAt: Date
    public var updatedAt: Date
    public var lastLoginAt: Date?

    package init(row: any SQLRow) throws {
        id = try row.decode(column: "id", as: String.self)
        email = try row.decode(column: "email", as: String.self)
        name = try row.decode(column: "name", as: String.self)
        passwordHash = try row.decode(column: "password_hash", as: String.self)
        role = UserRole(rawValue: try row.decode(column: "role", as: String.self)) ?? .user
        isActive = try row.decode(column: "is_active", as: Bool.self)
        createdAt = try row.decode(column: "created_at", as: Date.self)
        updatedAt = try row.decode(column: "updated_at", as: Date.self)
        lastLoginAt = try row.decode(column: "last_login_at", as: Date?.self)
    }

    package init(id: String, email: String, name: String, passwordHash: String, role: UserRole, isActive: Bool, now: Date) {
        self.id = id
        self.email = email
        self.name = name
        self.passwordHash = passwordHash
        self.role = role
        self.isActive = isActive
        self.createdAt = now
        self.updatedAt = now
        self.lastLoginAt = nil
    }

    package var dto: UserDTO {
        UserDTO(id: id, email: email, name: name, role: role, isActive: isActive,
                createdAt: createdAt, updatedAt: updatedAt, lastLoginAt: lastLoginAt)
    }
}

/// A user as the API shows it.
public struct UserDTO: Codable, Sendable, Equatable {
    public var id: String
    public var email: String
    public var name: String
    public var role: UserRole
    public var isActive: Bool
    public var createdAt: Date
    public var updatedAt: Date
    public var lastLoginAt: Date?

    package init(id: String, email: String, name: String, role: UserRole, isActive: Bool, createdAt: Date, updatedAt: Date, lastLoginAt: Date? = nil) {
        self.id = id
        self.email = email
        self.name = name
        self.role = role
        self.isActive = isActive
        self.createdAt = createdAt
        self.updatedAt = updatedAt
        self.lastLoginAt = lastLoginAt
    }
}
