import Foundation
import Hummingbird
import PersonaKit
import PersonaStorage

/// `GET /api/dashboard[?tz=Europe/Paris]`: the storytelling cards (personas by state, runs,
/// tool calls, approvals waiting, memory, LLM usage, alerts) over the personas the caller sees,
/// with 14 days of daily series and today's hourly ones in the caller's time zone (UTC when
/// not given).
struct DashboardController: Sendable {
    let database: Database

    func addRoutes(to group: RouterGroup<AppRequestContext>) {
        group.get { request, context in
            let user = try context.requireUser()
            let name = request.uri.queryParameters.get("tz") ?? "UTC"
            guard name.count <= 64, let timeZone = TimeZone(identifier: name) else {
                throw APIError.validation("tz must be an IANA time zone such as Europe/Paris")
            }
            let window = DashboardWindow(now: Date(), timeZone: timeZone)
            let repository = DashboardRepository(kind: database.kind)
            return try JSONResponse.data(try await database.withConnection {
                try await repository.load(for: user, window: window, on: $0)
            })
        }
    }
}
