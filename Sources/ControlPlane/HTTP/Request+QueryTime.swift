import Foundation
import Hummingbird
import PersonaKit
import PersonaStorage

extension Request {
    /// The query parameter `name` as an ISO 8601 time, `nil` when absent.
    /// - Throws: ``APIError`` 400 naming the parameter when it is not a time.
    func queryTime(_ name: String) throws -> Date? {
        guard let text = uri.queryParameters.get(name) else { return nil }
        guard let date = JSONCoding.parseTimestamp(text) else {
            throw APIError.validation("\(name) must be an ISO 8601 time such as 2026-01-31T12:00:00Z")
        }
        return date
    }
}
