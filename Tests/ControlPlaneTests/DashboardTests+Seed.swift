import Foundation
import PersonaKit
import PersonaStorage
import SQLKit

/// The dashboard test's data: plain records written straight into the tables, and the figures
/// they should give, counted here in Swift (never with the dashboard's SQL).
struct DashboardSeed {
    struct RunRow { var id, persona, status: String; var created: Date; var started, completed: Date? }
    struct ToolRow { var persona, tool, status: String; var created: Date }
    struct LLMRow { var run, persona, node, model: String; var step, prompt, completion: Int; var created: Date }
    struct ApprovalRow { var run, persona, status: String; var created: Date }
    struct DocumentRow { var persona, status: String; var chunks: Int; var created: Date }
    struct AlertRow { var persona, kind, status: String; var opened: Date }

    var personas: [(id: String, owner: String, state: String?)] = []
    var runs: [RunRow] = []
    var tools: [ToolRow] = []
    var llm: [LLMRow] = []
    var approvals: [ApprovalRow] = []
    var documents: [DocumentRow] = []
    var chunks: [(persona: String, curated: Bool)] = []
    var alerts: [AlertRow] = []

    /// A deterministic generator (SplitMix64), so a failure can be replayed.
    struct Random {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        mutating func int(_ range: Range<Int>) -> Int { range.lowerBound + Int(next() % UInt64(range.count)) }
        mutating func pick<T>(_ values: [T]) -> T { values[int(0..<values.count)] }
    }

    /// Rows over the last 16 days (two past the dashboard's 14), a third of them in the last
    /// six hours, at whole seconds before `now`.
    init(personas: [(id: String, owner: String, state: String?)], now: Date, seed: UInt64 = 22) {
        self.personas = personas
        var random = Random(state: seed)
        let now = Date(timeIntervalSince1970: now.timeIntervalSince1970.rounded(.down))
        let ids = personas.map(\.id)
        func when(days: Int = 16) -> Date {
            now.addingTimeInterval(-Double(random.int(0..<3) == 0 ? random.int(0..<6 * 3600) : random.int(0..<days * 86_400)))
        }
        for _ in 0..<160 {
            let status = random.pick(RunStatus.allCases).rawValue
            let created = when()
            let started: Date? = status == "queued" ? nil : created.addingTimeInterval(1)
            // Durations in tens of milliseconds: a median of two is whole milliseconds.
            let completed: Date? = ["completed", "failed", "cancelled"].contains(status)
                ? started.map { min(now, $0.addingTimeInterval(Double(random.int(1..<600)) / 100)) } : nil
            runs.append(RunRow(id: Identifier.make(), persona: random.pick(ids), status: status, created: created, started: started,
                               completed: completed))
        }
        let toolNames = ["shell", "shell", "shell", "web_search", "web_search", "http_fetch", "python", "read_file", "grep", "write_file"]
        let toolStatuses = ["running", "succeeded", "succeeded", "succeeded", "failed", "timed_out", "cancelled", "interrupted"]
        for _ in 0..<300 {
            tools.append(ToolRow(persona: random.pick(ids), tool: random.pick(toolNames), status: random.pick(toolStatuses), created: when()))
        }
        for run in runs where random.int(0..<2) == 0 {
            for step in 1...random.int(1..<4) {
                let created = min(now, run.created.addingTimeInterval(Double(step * 7)))
                llm.append(LLMRow(run: run.id, persona: run.persona, node: step == 2 ? "tools" : "llm",
                                  model: random.pick(["gpt-4o-mini", "gpt-4o-mini", "claude-sonnet", "llama3"]), step: step,
                                  prompt: random.int(10..<5000), completion: random.int(0..<900), created: created))
            }
        }
        for run in runs {
            let status: String? = switch run.status {
            case "awaiting_approval": "pending"
            case "completed": random.int(0..<3) == 0 ? "approved" : nil
            case "failed": random.int(0..<3) == 0 ? "rejected" : nil
            case "cancelled": random.int(0..<3) == 0 ? "pending" : nil  // left behind: not waiting any more
            default: nil
            }
            guard let status else { continue }
            for _ in 0..<random.int(1..<3) {
                approvals.append(ApprovalRow(run: run.id, persona: run.persona, status: status, created: min(now, run.created.addingTimeInterval(2))))
            }
        }
        for _ in 0..<30 {
            // Never `pending`: the ingestion worker of the app under test would take it at once
            // (a `processing` one without a lease it leaves alone).
            let status = random.pick(["processing", "completed", "completed", "failed"])
            documents.append(DocumentRow(persona: random.pick(ids), status: status, chunks: status == "completed" ? random.int(1..<40) : 0,
                                         created: when(days: 20)))
        }
        for _ in 0..<60 { chunks.append((random.pick(ids), random.int(0..<4) == 0)) }
        var open: Set<String> = []
        for _ in 0..<24 {
            let persona = random.pick(ids), kind = random.pick(PersonaAlert.Kind.allCases).rawValue
            // One open alert per persona and kind (the partial unique index).
            let status = random.int(0..<2) == 0 && open.insert(persona + kind).inserted ? "open" : "resolved"
            alerts.append(AlertRow(persona: persona, kind: kind, status: status, opened: when(days: 20)))
        }
    }

    /// Writes the rows; chunks under `model` (the embedder's, so that nothing re-embeds them).
    func insert(into db: any SQLDatabase, kind: SQLDialectKind, model: String) async throws {
        let now = Date()
        for persona in personas where persona.state != nil {
            try await db.insert(into: "persona_containers")
                .columns("persona_id", "desired_state", "state", "container_name", "image", "token_hash", "token_sealed",
                         "heartbeat_interval_seconds", "event_sequence", "restart_count", "created_at", "updated_at")
                .values(SQLBind(persona.id), SQLBind("running"), SQLBind(persona.state), SQLBind("persona-\(persona.id)"), SQLBind("img"),
                        SQLBind(Identifier.make()), SQLBind("sealed"), SQLBind(10), SQLBind(0), SQLBind(0), SQLBind(now), SQLBind(now))
                .run()
        }
        for run in runs {
            try await db.insert(into: "runs")
                .columns("id", "persona_id", "status", "input", "trace_id", "span_id", "step_count", "cancel_requested",
                         "prompt_tokens", "completion_tokens", "created_at", "updated_at", "started_at", "completed_at")
                .values(SQLBind(run.id), SQLBind(run.persona), SQLBind(run.status), SQLBind("hi"), SQLBind(String(repeating: "a", count: 32)),
                        SQLBind(String(repeating: "b", count: 16)), SQLBind(0), SQLBind(false), SQLBind(0), SQLBind(0),
                        SQLBind(run.created), SQLBind(run.created), SQLBind(run.started), SQLBind(run.completed))
                .run()
        }
        for (index, call) in tools.enumerated() {
            try await db.insert(into: "tool_runs")
                .columns("id", "persona_id", "tool_name", "idempotency_key", "status", "input", "trace_id", "created_at")
                .values(SQLBind(Identifier.make()), SQLBind(call.persona), SQLBind(call.tool), SQLBind("key-\(index)"), SQLBind(call.status),
                        SQLBind("{}"), SQLBind(String(repeating: "c", count: 32)), SQLBind(call.created))
                .run()
        }
        for step in llm {
            let meta: JSONValue = ["kind": .string(step.node), "model": .string(step.model), "promptTokens": .number(Double(step.prompt)),
                                   "completionTokens": .number(Double(step.completion)), "toolCalls": []]
            try await db.insert(into: "run_checkpoints")
                .columns("run_id", "step", "node", "delta", "meta", "span_id", "next_node", "created_at")
                .values(SQLBind(step.run), SQLBind(step.step), SQLBind(step.node), SQLBind("{}"), SQLBind(try JSONCoding.encodeString(meta)),
                        SQLBind(String(repeating: "d", count: 16)), SQLBind("llm"), SQLBind(step.created))
                .run()
        }
        for (index, approval) in approvals.enumerated() {
            try await db.insert(into: "run_approvals")
                .columns("run_id", "step", "call_id", "tool", "arguments", "status", "created_at")
                .values(SQLBind(approval.run), SQLBind(1), SQLBind("call-\(index)"), SQLBind("shell"), SQLBind("{}"), SQLBind(approval.status),
                        SQLBind(approval.created))
                .run()
        }
        for (index, document) in documents.enumerated() {
            try await db.insert(into: "documents")
                .columns("id", "persona_id", "name", "size_bytes", "sha256", "status", "chunk_count", "attempts", "created_at", "updated_at")
                .values(SQLBind(Identifier.make()), SQLBind(document.persona), SQLBind("doc-\(index).txt"), SQLBind(100),
                        SQLBind(String(repeating: "e", count: 64)), SQLBind(document.status), SQLBind(document.chunks), SQLBind(0),
                        SQLBind(document.created), SQLBind(document.created))
                .run()
        }
        let chunkRepository = ChunkRepository(kind: kind)
        for (persona, rows) in Dictionary(grouping: chunks, by: \.persona) {
            try await chunkRepository.insert(rows.enumerated().map { index, row in
                NewChunk(id: Identifier.make(), index: index, text: "chunk \(index)", tokenCount: 2, curated: row.curated, embedding: [0.5, 0.5, 0.5, 0.5])
            }, personaId: persona, model: model, now: now, on: db)
        }
        for alert in alerts {
            try await db.insert(into: "persona_alerts")
                .columns("id", "persona_id", "kind", "status", "message", "opened_at", "resolved_at")
                .values(SQLBind(Identifier.make()), SQLBind(alert.persona), SQLBind(alert.kind), SQLBind(alert.status), SQLBind("test"),
                        SQLBind(alert.opened), SQLBind(alert.status == "open" ? nil : now as Date?))
                .run()
        }
    }
}
