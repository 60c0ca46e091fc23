import Foundation
import Hummingbird
import PersonaKit

/// `?limit=&cursor=` of a paged list. Ids are UUIDv7, so the cursor is simply the last id
/// of the previous page (or, for lists by name, the last name).
struct Page: Sendable {
    var cursor: String?
    var limit: Int

    /// What a cursor is.
    enum Cursor {
        /// A UUID, the last id of the previous page.
        case id
        /// A name (1-200 bytes), the last name of the previous page.
        case name
    }

    static let defaultLimit = 50
    static let maxLimit = 200

    init(request: Request, cursor kind: Cursor = .id) throws {
        let query = request.uri.queryParameters
        if let text = query.get("limit") {
            guard let value = Int(text), (1...Self.maxLimit).contains(value) else {
                throw APIError.validation("limit must be a whole number from 1 to \(Self.maxLimit)")
            }
            limit = value
        } else {
            limit = Self.defaultLimit
        }
        if let text = query.get("cursor"), !text.isEmpty {
            switch kind {
            case .id:
                guard Identifier.isValid(text) else { throw APIError.validation("cursor is not valid") }
                cursor = text.lowercased()
            case .name:
                guard text.utf8.count <= 200 else { throw APIError.validation("cursor is not valid") }
                cursor = text
            }
        }
    }

    /// Splits `limit + 1` fetched rows into the page and the cursor of the next one.
    func split<T>(_ rows: [T], id: (T) -> String) -> ([T], String?) {
        guard rows.count > limit else { return (rows, nil) }
        let page = Array(rows.prefix(limit))
        return (page, page.last.map(id))
    }
}

extension AppRequestContext {
    /// A path id parameter that must be a UUID; anything else cannot exist, so it is a 404.
    func id(_ name: String = "id", what: String) throws -> String {
        guard let value = parameters.get(name), Identifier.isValid(value) else { throw APIError.notFound(what) }
        return value.lowercased()
    }
}

/// Field checks shared by controllers.
enum Validate {
    static func text(_ value: String, field: String, min: Int = 1, max: Int) throws -> String {
        let trimmed = value.trimmingCharacters(in: .whitespacesAndNewlines)
        guard trimmed.count >= min else { throw APIError.validation("\(field) must not be empty") }
        guard trimmed.count <= max else { throw APIError.validation("\(field) must be at most \(max) characters") }
        return trimmed
    }

    static func optionalText(_ value: String?, field: String, max: Int) throws -> String? {
        guard let value else { return nil }
        guard value.count <= max else { throw APIError.validation("\(field) must be at most \(max) characters") }
        return value
    }

    static func email(_ value: String) throws -> String {
        let email = value.trimmingCharacters(in: .whitespaces).lowercased()
        let parts = email.split(separator: "@", omittingEmptySubsequences: false)
        guard email.count <= 254, parts.count == 2, !parts[0].isEmpty, parts[1].contains("."),
              !parts[1].hasPrefix("."), !parts[1].hasSuffix("."), !email.contains(where: \.isWhitespace) else {
            throw APIError.validation("email is not a valid address")
        }
        return email
    }
}
