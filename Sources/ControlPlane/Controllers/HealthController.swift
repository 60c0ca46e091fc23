import Foundation
import Hummingbird
import PersonaKit
import PersonaStorage

/// `GET /api/personas/{id}/alerts` and `GET /api/admin/health`: what the health monitor found.
struct HealthController: Sendable {
    let database: Database
    let personas = PersonaRepository()
    let alerts = AlertRepository()

    struct AdminHealth: Codable, Sendable {
        struct Entry: Codable, Sendable {
            var personaId: String
            var personaName: String
            var latest: HealthSample?
            var openAlerts: [PersonaAlert]
        }
        var personas: [Entry]
    }

    func addRoutes(personas group: RouterGroup<AppRequestContext>, admin: RouterGroup<AppRequestContext>) {
        group.get("{id}/alerts") { request, context in
            let (persona, _) = try await personas.requireVisible(context, minimum: .viewer, in: database)
            let status = request.uri.queryParameters.get("status")
            guard status == nil || status == "open" || status == "resolved" else {
                throw APIError.validation("status must be open or resolved")
            }
            return try JSONResponse.data(try await database.withConnection {
                try await alerts.list(personaId: persona.id, status: status, limit: 200, on: $0)
            })
        }
        admin.get("health") { _, context in
            _ = try context.requireAdmin()
            let health = HealthRepository(kind: database.kind)
            return try JSONResponse.data(try await database.withConnection { db in
                let open = try await alerts.open(on: db)
                var entries: [AdminHealth.Entry] = []
                for row in try await db.raw("SELECT id, name FROM personas ORDER BY name, id").all() {
                    let id = try row.decode(column: "id", as: String.self)
                    entries.append(AdminHealth.Entry(personaId: id, personaName: try row.decode(column: "name", as: String.self),
                                                     latest: try await health.latest(personaId: id, on: db), openAlerts: open[id] ?? []))
                }
                return AdminHealth(personas: entries)
            })
        }
    }
}
