import Foundation
import PersonaKit
import SQLKit

/// A persona row (`personas`).
public struct Persona: Sendable, Equatable {
    public var id: String
    public var ownerId: String
    public var name: String
    public var description: String?
    public var systemPrompt: String?
    public var theme: JSONValue?
    public var isActive: Bool
    public var createdAt: Date
    public var updatedAt: Date

    package init(row: any SQLRow) throws {
        id = try row.decode(column: "id", as: String.self)
        ownerId = try row.decode(column: "owner_id", as: String.self)
        name = try row.decode(column: "name", as: String.self)
        description = try row.decode(column: "description", as: String?.self)
        systemPrompt = try row.decode(column: "system_prompt", as: String?.self)
        theme = try row.decode(column: "theme", as: String?.self).flatMap { try? JSONCoding.decode(JSONValue.self, from: $0) }
        isActive = try row.decode(column: "is_active", as: Bool.self)
        createdAt = try row.decode(column: "created_at", as: Date.self)
        updatedAt = try row.decode(column: "updated_at", as: Date.self)
    }

    package init(id: String, ownerId: String, name: String, description: String?, systemPrompt: String?,
         theme: JSONValue?, now: Date) {
        self.id = id
        self.ownerId = ownerId
        self.name = name
        self.description = description
        self.systemPrompt = systemPrompt
        self.theme = theme
        self.isActive = true
        self.createdAt = now
        self.updatedAt = now
    }

    package func dto(role: MemberRole) -> PersonaDTO {
        PersonaDTO(id: id, name: name, description: description, systemPrompt: systemPrompt, theme: theme,
                   ownerId: ownerId, isActive: isActive, role: role, createdAt: createdAt, updatedAt: updatedAt)
    }
}

/// A persona as the API shows it, with the caller's effective role on it.
public struct PersonaDTO: Codable, Sendable, Equatable {
    public var id: String
    public var name: String
    public var description: String?
    public var systemPrompt: String?
    public var theme: JSONValue?
    public var ownerId: String
    public var isActive: Bool
    public var role: MemberRole
    public var createdAt: Date
    public var updatedAt: Date

    package init(id: String, name: String, description: String? = nil, systemPrompt: String? = nil, theme: JSONValue? = nil, ownerId: String, isActive: Bool, role: MemberRole, createdAt: Date, updatedAt: Date) {
        self.id = id
        self.name = name
        self.description = description
        self.systemPrompt = systemPrompt
        self.theme = theme
        self.ownerId = ownerId
        self.isActive = isActive
        self.role = role
        self.createdAt = createdAt
        self.updatedAt = updatedAt
    }
}

/// What a member may do on a persona; each role includes the ones before it.
public enum MemberRole: String, Codable, Sendable, CaseIterable, Comparable {
    case viewer
    case editor
    case owner

    private var rank: Int {
        switch self {
        case .viewer: 0
        case .editor: 1
        case .owner: 2
        }
    }

    public static func < (a: MemberRole, b: MemberRole) -> Bool { a.rank < b.rank }
}

/// A membership as the API shows it.
public struct MemberDTO: Codable, Sendable, Equatable {
    public var userId: String
    public var email: String
    public var name: String
    public var role: MemberRole
    public var createdAt: Date

    package init(userId: String, email: String, name: String, role: MemberRole, createdAt: Date) {
        self.userId = userId
        self.email = email
        self.name = name
        self.role = role
        self.createdAt = createdAt
    }
}

/// A secret's metadata; the value is write-only and never leaves the server.
public struct SecretDTO: Codable, Sendable, Equatable {
    public var name: String
    public var createdAt: Date
    public var updatedAt: Date

    package init(name: String, createdAt: Date, updatedAt: Date) {
        self.name = name
        self.createdAt = createdAt
        self.updatedAt = updatedAt
    }
}
