import Foundation
import Hummingbird
import PersonaKit
import PersonaStorage

/// `GET/PUT /api/admin/settings` and `GET /api/audit`.
struct AdminSettingsController: Sendable {
    let database: Database
    let audit = AuditRepository()
    let settings = SettingsRepository()

    func addRoutes(settings group: RouterGroup<AppRequestContext>, audit: RouterGroup<AppRequestContext>) {
        group.get { _, context in
            _ = try context.requireAdmin()
            return try JSONResponse.data(try await self.settings.load(in: database))
        }
        group.put { request, context in
            _ = try context.requireAdmin()
            let buffer = try await request.collectBody(limit: 16_384)
            guard case .object(let update)? = try? JSONCoding.decoder.decode(JSONValue.self, from: Data(buffer: buffer)) else {
                throw APIError.validation("Request body must be a JSON object")
            }
            try PlatformSettings.validate(update)
            try await database.transaction { tx in
                for (key, value) in update {
                    try await self.settings.set(key, to: value, by: context.identity?.id, now: Date(), on: tx)
                }
                try await self.audit.insert(AuditEvent(context, type: "settings.updated", category: "settings",
                                                           description: "Platform settings changed",
                                                           metadata: ["changes": JSONValue.object(update)]), on: tx)
            }
            return try JSONResponse.data(try await self.settings.load(in: database))
        }
        audit.get { request, context in
            _ = try context.requireAdmin()
            let page = try Page(request: request)
            let filter = try Self.filter(request)
            let rows = try await database.withConnection {
                try await self.audit.list(filter: filter, cursor: page.cursor, limit: page.limit + 1, on: $0)
            }
            let (events, next) = page.split(rows, id: \.id)
            return try JSONResponse.data(events, nextCursor: next)
        }
    }

    static func filter(_ request: Request) throws -> AuditFilter {
        let query = request.uri.queryParameters
        if let trace = query.get("traceId"), trace.count != 32 || !trace.allSatisfy(\.isHexDigit) {
            throw APIError.validation("traceId must be 32 hex characters")
        }
        return AuditFilter(userId: query.get("userId"), personaId: query.get("personaId"),
                           eventType: query.get("type") ?? query.get("eventType"),
                           traceId: query.get("traceId")?.lowercased(), from: try request.queryTime("from"), to: try request.queryTime("to"))
    }
}
