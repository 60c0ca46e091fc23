import Foundation
import Hummingbird
import PersonaKit
import PersonaStorage
import Containers
import Tools

/// `/api/personas/{id}/container[/start|/stop]`, `/api/personas/{id}/tools[...]` and
/// `/api/personas/{id}/tool-runs[/{runId}]`.
struct ContainersController: Sendable {
    let configuration: AppConfiguration
    let database: Database
    let containers: ContainerManager
    let tools: ToolRegistry
    let personas = PersonaRepository()
    let audit = AuditRepository()
    var manager: ContainerManager { containers }

    struct InvokeBody: StrictBody {
        var arguments: JSONValue?
        var timeoutMs: Int?
        var idempotencyKey: String?
        static let fields: Set<String> = ["arguments", "timeoutMs", "idempotencyKey"]
    }

    struct ToolPatchBody: StrictBody {
        var enabled: Bool?
        var requiresApproval: Bool?
        static let fields: Set<String> = ["enabled", "requiresApproval"]
    }

    static let maxWaitSeconds = 120

    func addRoutes(to group: RouterGroup<AppRequestContext>) {
        group.get("{id}/container") { _, context in
            let (persona, _) = try await personas.requireVisible(context, minimum: .viewer, in: database)
            return try JSONResponse.data(try await manager.status(persona.id, trace: context.trace, resources: true))
        }
        group.get("{id}/health") { request, context in
            let (persona, _) = try await personas.requireVisible(context, minimum: .viewer, in: database)
            return try JSONResponse.data(try await health(persona.id, request: request))
        }
        group.post("{id}/container/start") { request, context in
            let (persona, _) = try await personas.requireVisible(context, minimum: .editor, in: database)
            let wait = try Self.waitSeconds(request)
            try await audit(context, persona: persona, type: "container.start_requested", description: "Container start requested")
            let status = try await manager.start(persona, wait: wait.map { .seconds($0) }, trace: context.trace)
            return try JSONResponse.data(status, status: status.state == .ready ? .ok : .accepted)
        }
        group.post("{id}/container/stop") { _, context in
            let (persona, _) = try await personas.requireVisible(context, minimum: .editor, in: database)
            try await audit(context, persona: persona, type: "container.stop_requested", description: "Container stop requested")
            return try JSONResponse.data(try await manager.stop(persona, trace: context.trace))
        }
        group.get("{id}/tools") { _, context in
            let (persona, _) = try await personas.requireVisible(context, minimum: .viewer, in: database)
            return try JSONResponse.data(try await database.withConnection {
                try await manager.tools.catalog(personaId: persona.id, on: $0)
            })
        }
        group.patch("{id}/tools/{name}") { request, context in
            let (persona, _) = try await personas.requireVisible(context, minimum: .editor, in: database)
            let name = context.parameters.get("name") ?? ""
            let body = try await request.decodeJSON(ToolPatchBody.self, limit: 4096)
            guard body.enabled != nil || body.requiresApproval != nil else { throw APIError.validation("Nothing to change") }
            let alsoEnabled = try await database.transaction { tx -> [String]? in
                guard let alsoEnabled = try await tools.updatePersonaTool(personaId: persona.id, name: name, enabled: body.enabled,
                                                                          requiresApproval: body.requiresApproval, now: Date(), on: tx)
                else { return nil }
                var metadata: [String: any JSONValueConvertible] = ["tool": name]
                if let enabled = body.enabled { metadata["enabled"] = enabled }
                if let approval = body.requiresApproval { metadata["requiresApproval"] = approval }
                if !alsoEnabled.isEmpty { metadata["dependenciesEnabled"] = alsoEnabled }
                try await audit.insert(AuditEvent(context, type: "tool.updated", category: "tool",
                                                           description: "Tool settings changed for persona", personaId: persona.id,
                                                           metadata: metadata), on: tx)
                return alsoEnabled
            }
            guard alsoEnabled != nil else { throw APIError.notFound("Tool") }
            let catalog = try await database.withConnection { try await manager.tools.catalog(personaId: persona.id, on: $0) }
            guard let tool = catalog.first(where: { $0.name == name }) else { throw APIError.notFound("Tool") }
            return try JSONResponse.data(tool)
        }
        group.post("{id}/tools/{name}/invoke") { request, context in
            let (persona, _) = try await personas.requireVisible(context, minimum: .editor, in: database)
            let user = try context.requireUser()
            let name = context.parameters.get("name") ?? ""
            let body = try await request.decodeJSON(InvokeBody.self, limit: configuration.maxJSONBodySize)
            let arguments = body.arguments ?? [:]
            guard case .object = arguments else { throw APIError.validation("arguments must be a JSON object") }
            if let timeout = body.timeoutMs, !(1...3_600_000).contains(timeout) {
                throw APIError.validation("timeoutMs must be from 1 to 3600000")
            }
            if let key = body.idempotencyKey, key.isEmpty || key.utf8.count > 200 {
                throw APIError.validation("idempotencyKey must be 1 to 200 characters")
            }
            let run = try await manager.invoke(persona, .init(tool: name, arguments: arguments, timeoutMs: body.timeoutMs,
                                                              idempotencyKey: body.idempotencyKey, runId: nil, userId: user.id),
                                               trace: context.trace)
            return try JSONResponse.data(run)
        }
        group.get("{id}/tool-runs") { request, context in
            let (persona, _) = try await personas.requireVisible(context, minimum: .viewer, in: database)
            let page = try Page(request: request)
            let rows = try await database.withConnection {
                try await manager.tools.runs(personaId: persona.id, cursor: page.cursor, limit: page.limit + 1, on: $0)
            }
            let (runs, next) = page.split(rows, id: \.id)
            return try JSONResponse.data(runs, nextCursor: next)
        }
        group.get("{id}/tool-runs/{runId}") { _, context in
            let (persona, _) = try await personas.requireVisible(context, minimum: .viewer, in: database)
            let id = try context.id("runId", what: "Tool run")
            guard let run = try await database.withConnection({ try await manager.tools.find(id: id, on: $0) }),
                  run.personaId == persona.id else { throw APIError.notFound("Tool run") }
            return try JSONResponse.data(run)
        }
    }

    /// `GET /api/personas/{id}/health`: the health monitor's rows.
    struct HealthSeries: Codable, Sendable {
        var personaId: String
        var since: Date
        var until: Date
        /// Seconds each point covers when the rows were merged into buckets (`step`), else nil.
        var step: Int?
        var points: [HealthSample]
    }

    static let maxHealthRows = 20_000

    /// The rows from `since` (default: an hour before `until`) to `until` (default: now), at
    /// most 90 days; with `step` (seconds, 30 to 86,400), merged into buckets of that size.
    private func health(_ personaId: String, request: Request) async throws -> HealthSeries {
        let query = request.uri.queryParameters
        let until = try request.queryTime("until") ?? Date()
        let since = try request.queryTime("since") ?? until.addingTimeInterval(-3600)
        guard since < until else { throw APIError.validation("since must be before until") }
        guard until.timeIntervalSince(since) <= 90 * 86_400 else { throw APIError.validation("since and until may be at most 90 days apart") }
        var step: Int?
        if let text = query.get("step") {
            guard let value = Int(text), (30...86_400).contains(value) else {
                throw APIError.validation("step must be a whole number of seconds from 30 to 86400")
            }
            step = value
        }
        let rows = try await database.withConnection {
            try await HealthRepository(kind: database.kind).range(personaId: personaId, since: since, until: until,
                                                                 limit: Self.maxHealthRows, on: $0)
        }
        guard let step else { return HealthSeries(personaId: personaId, since: since, until: until, step: nil, points: rows) }
        let size = Double(step)
        let buckets = Dictionary(grouping: rows) { ($0.sampledAt.timeIntervalSince1970 / size).rounded(.down) * size }
        let points = buckets.sorted { $0.key < $1.key }.map { HealthSample.merge($0.value, at: Date(timeIntervalSince1970: $0.key), resolutionSeconds: step) }
        return HealthSeries(personaId: personaId, since: since, until: until, step: step, points: points)
    }

    private func audit(_ context: AppRequestContext, persona: Persona, type: String, description: String) async throws {
        try await database.withConnection {
            try await audit.insert(AuditEvent(context, type: type, category: "container", description: description,
                                                       personaId: persona.id), on: $0)
        }
    }

    /// `?wait=SECONDS` (0-120): how long start waits for the supervisor to register.
    static func waitSeconds(_ request: Request) throws -> Int? {
        guard let text = request.uri.queryParameters.get("wait") else { return nil }
        guard let value = Int(text), (0...maxWaitSeconds).contains(value) else {
            throw APIError.validation("wait must be a whole number of seconds from 0 to \(maxWaitSeconds)")
        }
        return value == 0 ? nil : value
    }
}
