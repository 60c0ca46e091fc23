import Hummingbird
import PersonaKit
import PersonaStorage
import SQLKit

extension AuditRepository {
    /// Runs `delete` and, when it removed something, records `event` in the same transaction.
    /// Answers 204, or 404 naming `what` when there was nothing to delete.
    func auditedDelete(in database: Database, what: String, event: AuditEvent,
                       _ delete: @Sendable (any SQLDatabase) async throws -> Bool) async throws -> Response {
        let deleted = try await database.transaction { tx in
            let deleted = try await delete(tx)
            if deleted { try await insert(event, on: tx) }
            return deleted
        }
        guard deleted else { throw APIError.notFound(what) }
        return JSONResponse.noContent()
    }
}
