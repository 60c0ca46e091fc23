import Foundation
import Hummingbird
import NIOCore
import PersonaKit
import PersonaStorage
import PersonaCore

/// `/api/runs[/{id}]`, cancel and the live event stream (SSE).
struct RunsController: Sendable {
    let configuration: AppConfiguration
    let database: Database
    /// Wakes the run worker when a run is queued here.
    let runWakeUp: Wakeup
    let personas = PersonaRepository()
    let audit = AuditRepository()
    let agents = AgentRepository()
    let runs = RunRepository()
    let approvals = RunApprovalRepository()

    struct CreateBody: StrictBody {
        var agentId: String
        var input: String
        static let fields: Set<String> = ["agentId", "input"]
    }

    struct RunDetail: Encodable, Sendable {
        var run: Run
        var steps: [RunStep]
        var approvals: [RunApproval]

        func encode(to encoder: any Encoder) throws {
            try run.encode(to: encoder)
            var container = encoder.container(keyedBy: Key.self)
            try container.encode(steps, forKey: .steps)
            try container.encode(approvals, forKey: .approvals)
        }

        enum Key: String, CodingKey { case steps, approvals }
    }

    struct ApproveBody: StrictBody {
        var approved: Bool
        var comment: String?
        static let fields: Set<String> = ["approved", "comment"]
    }

    func addRoutes(to group: RouterGroup<AppRequestContext>) {
        group.post { request, context in
            let user = try context.requireUser()
            let body = try await request.decodeJSON(CreateBody.self, limit: configuration.maxJSONBodySize)
            let input = try Validate.text(body.input, field: "input", max: 100_000)
            guard Identifier.isValid(body.agentId),
                  let agent = try await database.withConnection({ try await agents.find(id: body.agentId.lowercased(), on: $0) }),
                  let (_, role) = try await database.withConnection({ try await personas.access(personaId: agent.personaId, user: user, on: $0) })
            else { throw APIError.unprocessable("No agent with that agentId is visible to you") }
            guard role >= .editor else { throw APIError.forbidden("Starting runs needs the editor role on the persona") }
            let run = Run(id: Identifier.make(), personaId: agent.personaId, agentId: agent.id, createdBy: user.id, input: input,
                          trace: context.trace.child(), now: Date())
            try await database.transaction { tx in
                try await runs.insert(run, on: tx)
                try await runs.appendEvent(runId: run.id, type: "status", data: ["status": "queued"], now: Date(), on: tx)
                try await audit.insert(AuditEvent(context, type: "run.created", category: "run", description: "Run queued",
                                                           personaId: agent.personaId, metadata: ["runId": run.id, "agentId": agent.id]), on: tx)
            }
            runWakeUp.signal()
            database.eventsWritten.signal()
            return try JSONResponse.data(run, status: .created)
        }
        group.get { request, context in
            let user = try context.requireUser()
            let page = try Page(request: request)
            let query = request.uri.queryParameters
            let status = try query.get("status").map { text -> RunStatus in
                guard let status = RunStatus(rawValue: text) else { throw APIError.validation("status is not a run status") }
                return status
            }
            var personaIds: [String]? = nil
            if user.role != .admin {
                personaIds = try await personas.listVisible(user: user, cursor: nil, limit: 10_000, in: database)
                    .map(\.0.id)
            }
            if let persona = query.get("personaId") {
                personaIds = (personaIds ?? [persona]).filter { $0 == persona.lowercased() }
            }
            let visible = personaIds
            let rows = try await database.withConnection { db -> [Run] in
                let personaIds = visible
                return try await self.runs.list(personaIds: personaIds, agentId: query.get("agentId")?.lowercased(), status: status,
                                                    cursor: page.cursor, limit: page.limit + 1, on: db)
            }
            let (runs, next) = page.split(rows, id: \.id)
            return try JSONResponse.data(runs, nextCursor: next)
        }
        group.get("{id}") { _, context in
            let run = try await load(context, minimum: .viewer)
            let (steps, approvals) = try await database.withConnection {
                (try await self.runs.steps(runId: run.id, on: $0), try await self.approvals.list(runId: run.id, on: $0))
            }
            return try JSONResponse.data(RunDetail(run: run, steps: steps, approvals: approvals))
        }
        group.post("{id}/cancel") { _, context in
            let run = try await load(context, minimum: .editor)
            guard !run.status.isFinal else { throw APIError.conflict("The run already ended (\(run.status.rawValue))") }
            try await database.transaction { tx in
                // A queued run ends here; a running one is stopped by the worker holding it.
                if try await runs.finish(id: run.id, owner: nil, status: .cancelled, output: nil, error: "cancelled",
                                                  now: Date(), on: tx) {
                    try await runs.appendEvent(runId: run.id, type: "status", data: ["status": "cancelled", "error": "cancelled"],
                                                        now: Date(), on: tx)
                } else {
                    try await runs.requestCancel(id: run.id, now: Date(), on: tx)
                }
                try await audit.insert(AuditEvent(context, type: "run.cancel_requested", category: "run", description: "Run cancellation requested",
                                                           personaId: run.personaId, metadata: ["runId": run.id]), on: tx)
            }
            database.eventsWritten.signal()
            let fresh = try await database.withConnection { try await runs.find(id: run.id, on: $0) }
            return try JSONResponse.data(fresh ?? run, status: .accepted)
        }
        group.post("{id}/approve") { request, context in
            let run = try await load(context, minimum: .editor)
            let user = try context.requireUser()
            let body = try await request.decodeJSON(ApproveBody.self, limit: 8192)
            let comment = try Validate.optionalText(body.comment, field: "comment", max: 2000)
            let decided = try await database.transaction { tx -> Bool in
                // Only a run waiting for a decision moves; it goes back to the queue and resumes
                // at the step that asked (no side effect of that step happened yet).
                let moved = try await tx.update("runs").set("status", to: RunStatus.queued.rawValue).set("updated_at", to: Date())
                    .where("id", .equal, run.id).where("status", .equal, RunStatus.awaitingApproval.rawValue)
                    .returning("id").first() != nil
                guard moved else { return false }
                let count = try await approvals.decide(runId: run.id, approved: body.approved, by: user.id, comment: comment,
                                                                now: Date(), on: tx)
                try await runs.appendEvent(runId: run.id, type: "status", data: [
                    "status": "queued", "approval": .string(body.approved ? "approved" : "rejected"), "calls": .number(Double(count)),
                ], now: Date(), on: tx)
                try await audit.insert(AuditEvent(context, type: body.approved ? "run.approved" : "run.rejected", category: "run",
                                                           description: body.approved ? "Tool calls approved" : "Tool calls rejected",
                                                           personaId: run.personaId, metadata: ["runId": run.id, "calls": count]), on: tx)
                return true
            }
            guard decided else {
                throw APIError(.conflict, code: "not_awaiting_approval", "The run is \(run.status.rawValue), not awaiting approval")
            }
            runWakeUp.signal()
            database.eventsWritten.signal()
            let fresh = try await database.withConnection { try await runs.find(id: run.id, on: $0) }
            return try JSONResponse.data(fresh ?? run)
        }
        group.get("{id}/events") { request, context in
            let run = try await load(context, minimum: .viewer)
            let header = request.headers[.init("Last-Event-ID")!] ?? request.uri.queryParameters.get("lastEventId")
            let start = header.flatMap { Int($0) } ?? 0
            let runId = run.id
            return Response(status: .ok, headers: [.contentType: "text/event-stream", .cacheControl: "no-cache"],
                            body: ResponseBody { writer in try await stream(runId: runId, after: start, to: &writer) })
        }
    }

    /// Writes stored events after `after`, then follows new ones until the run has ended
    /// and every event is out.
    private func stream(runId: String, after: Int, to writer: inout any ResponseBodyWriter) async throws {
        var last = after
        var idle = ContinuousClock.now
        while true {
            let cursor = last
            let (batch, status) = try await database.withConnection { db in
                (try await runs.events(runId: runId, after: cursor, limit: 500, on: db),
                 try await runs.find(id: runId, on: db)?.status)
            }
            for event in batch {
                try await writer.write(ByteBuffer(string: "id: \(event.seq)\nevent: \(event.type)\ndata: \(event.data)\n\n"))
                last = event.seq
                idle = ContinuousClock.now
            }
            if batch.isEmpty {
                if status == nil || status?.isFinal == true { break }
                if ContinuousClock.now - idle > .seconds(15) {
                    try await writer.write(ByteBuffer(string: ": keep-alive\n\n"))
                    idle = ContinuousClock.now
                }
                try await Task.sleep(for: .milliseconds(100))
            }
        }
        try await writer.finish(nil)
    }

    private func load(_ context: AppRequestContext, minimum: MemberRole) async throws -> Run {
        let user = try context.requireUser()
        let id = try context.id(what: "Run")
        guard let run = try await database.withConnection({ try await runs.find(id: id, on: $0) }),
              let (_, role) = try await database.withConnection({ try await personas.access(personaId: run.personaId, user: user, on: $0) })
        else { throw APIError.notFound("Run") }
        guard role >= minimum else { throw APIError.forbidden("This needs the \(minimum.rawValue) role on the run's persona") }
        return run
    }
}
