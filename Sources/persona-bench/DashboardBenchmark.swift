import ArgumentParser
import ControlPlane
import Foundation
import Memory
import PersonaKit
import PersonaStorage
import SQLKit

/// The history `scripts/bench-ops dashboard` measures `GET /api/dashboard` on: personas (one
/// user owns a few, the admin the rest) with runs, tool calls, LLM steps, approvals,
/// documents, chunks and alerts spread evenly over the last `days` days, written straight into
/// the tables in batches (what years of use would leave, without the years).
enum DashboardBenchmark {
    struct Options {
        var personas = 50
        var owned = 5
        var runs = 100_000
        var toolRuns = 200_000
        var documents = 500
        var chunks = 50_000
        var alerts = 300
        var days = 30
    }

    struct Report: Encodable {
        var backend: String
        var personas: Int
        var runs: Int
        var toolRuns: Int
        var llmSteps: Int
        var otherSteps: Int
        var approvals: Int
        var documents: Int
        var chunks: Int
        var alerts: Int
        var days: Int
        var seconds: Double
    }

    /// Seeds the database; `admin` and `user` are existing users' emails (the user owns
    /// `options.owned` personas, the admin the others).
    /// - Parameter model: the embedding model the chunks are stored under: the control plane's,
    ///   or its ingestion worker would re-embed them all during the measurement.
    static func seed(database: Database, admin: String, user: String, model: String, options: Options) async throws -> Report {
        let started = ContinuousClock.now
        let kind = database.kind
        let (adminId, userId) = try await database.withConnection { db in
            func id(_ email: String) async throws -> String {
                guard let row = try await db.select().column("id").from("users").where("email", .equal, email).first() else {
                    throw BenchError("no user \(email): start the control plane once and create it first")
                }
                return try row.decode(column: "id", as: String.self)
            }
            return (try await id(admin), try await id(user))
        }
        var random = SplitMix(state: 2026)
        let now = Date()
        let span = Double(options.days) * 86_400
        func when() -> Date { now.addingTimeInterval(-Double(random.int(0..<Int(span)))) }
        let personas = (0..<options.personas).map { _ in Identifier.make() }
        let states = ["ready", "ready", "ready", "stopped", "starting", "unhealthy", "failed"]
        try await database.transaction { db in
            for (index, id) in personas.enumerated() {
                try await db.insert(into: "personas").columns("id", "owner_id", "name", "is_active", "created_at", "updated_at")
                    .values(SQLBind(id), SQLBind(index < options.owned ? userId : adminId), SQLBind("bench \(index)"), SQLBind(true),
                            SQLBind(now), SQLBind(now)).run()
                try await db.insert(into: "persona_containers")
                    .columns("persona_id", "desired_state", "state", "container_name", "image", "token_hash", "token_sealed",
                             "heartbeat_interval_seconds", "event_sequence", "restart_count", "created_at", "updated_at")
                    .values(SQLBind(id), SQLBind("running"), SQLBind(states[index % states.count]), SQLBind("bench-\(id)"),
                            SQLBind("persona"), SQLBind(Identifier.make()), SQLBind("-"), SQLBind(10), SQLBind(0), SQLBind(0),
                            SQLBind(now), SQLBind(now)).run()
            }
        }

        // Runs: no queued ones (the control plane's worker would take them during the measurement).
        let statuses = Array(repeating: "completed", count: 80) + Array(repeating: "failed", count: 12)
            + Array(repeating: "cancelled", count: 5) + ["running", "running", "awaiting_approval"]
        var runs: [(id: String, persona: String, status: String, created: Date)] = []
        runs.reserveCapacity(options.runs)
        for _ in 0..<options.runs {
            runs.append((Identifier.make(), personas[random.int(0..<personas.count)], statuses[random.int(0..<statuses.count)], when()))
        }
        try await insert("runs", ["id", "persona_id", "status", "input", "trace_id", "span_id", "step_count", "cancel_requested",
                                  "prompt_tokens", "completion_tokens", "created_at", "updated_at", "started_at", "completed_at"],
                         runs.map { run in
            let started = run.created.addingTimeInterval(1)
            let completed: Date? = run.status == "running" || run.status == "awaiting_approval" ? nil
                : started.addingTimeInterval(Double(random.int(500..<120_000)) / 1000)
            return [SQLBind(run.id), SQLBind(run.persona), SQLBind(run.status), SQLBind("bench"), SQLBind(String(repeating: "a", count: 32)),
                    SQLBind(String(repeating: "b", count: 16)), SQLBind(2), SQLBind(false), SQLBind(0), SQLBind(0),
                    SQLBind(run.created), SQLBind(completed ?? started), SQLBind(started), SQLBind(completed)]
        }, database)

        let tools = (0..<30).map { "tool_\($0)" }
        let toolStatuses = Array(repeating: "succeeded", count: 90) + Array(repeating: "failed", count: 7) + ["timed_out", "cancelled", "interrupted"]
        try await insert("tool_runs", ["id", "persona_id", "tool_name", "run_id", "idempotency_key", "status", "input", "duration_ms",
                                       "trace_id", "created_at"],
                         (0..<options.toolRuns).map { index in
            // Skewed towards the first tools, as real use is.
            let tool = tools[random.int(0..<tools.count) * random.int(0..<tools.count) / tools.count]
            let run = runs[random.int(0..<runs.count)]
            return [SQLBind(Identifier.make()), SQLBind(run.persona), SQLBind(tool), SQLBind(run.id), SQLBind("bench-\(index)"),
                    SQLBind(toolStatuses[random.int(0..<toolStatuses.count)]), SQLBind("{}"), SQLBind(random.int(5..<5000)),
                    SQLBind(String(repeating: "c", count: 32)), SQLBind(run.created.addingTimeInterval(2))]
        }, database)

        // One LLM step per run (meta as RunGraph writes it), and a tools step for every other run.
        let models = ["gpt-4o-mini", "gpt-4o-mini", "gpt-4o", "claude-sonnet", "llama3"]
        var steps: [[any SQLExpression]] = []
        var llmSteps = 0
        for (index, run) in runs.enumerated() {
            for step in index % 2 == 0 ? [1, 2] : [1] {
                let meta: JSONValue = step == 1
                    ? ["kind": "llm", "model": .string(models[random.int(0..<models.count)]), "spanId": "0123456789abcdef",
                       "promptTokens": .number(Double(random.int(200..<8000))), "completionTokens": .number(Double(random.int(10..<900))),
                       "latencyMs": .number(Double(random.int(300..<9000))), "attempts": 1, "finishReason": "tool_calls",
                       "toolCalls": [["id": "call_1", "name": "tool_1"]], "toolSelection": nil]
                    : ["kind": "tools", "spanId": "0123456789abcdef", "calls": [["id": "call_1", "tool": "tool_1", "status": "succeeded"]]]
                llmSteps += step == 1 ? 1 : 0
                steps.append([SQLBind(run.id), SQLBind(step), SQLBind(step == 1 ? "llm" : "tools"), SQLBind("{}"),
                              SQLBind(try JSONCoding.encodeString(meta)), SQLBind("0123456789abcdef"), SQLBind("llm"),
                              SQLBind(run.created.addingTimeInterval(Double(step)))])
            }
        }
        try await insert("run_checkpoints", ["run_id", "step", "node", "delta", "meta", "span_id", "next_node", "created_at"], steps, database)

        let waiting = runs.filter { $0.status == "awaiting_approval" }
        let approvals = waiting.map { ($0, "pending") } + runs.filter { $0.status == "completed" }.prefix(waiting.count * 2).map { ($0, "approved") }
        try await insert("run_approvals", ["run_id", "step", "call_id", "tool", "arguments", "status", "created_at"], approvals.map { run, status in
            [SQLBind(run.id), SQLBind(1), SQLBind("call_1"), SQLBind("tool_1"), SQLBind("{}"), SQLBind(status), SQLBind(run.created.addingTimeInterval(2))]
        }, database)

        let documentStatuses = Array(repeating: "completed", count: 8) + ["failed", "processing"]
        let perDocument = options.chunks / max(1, options.documents)
        let documents = (0..<options.documents).map { _ in (id: Identifier.make(), persona: personas[random.int(0..<personas.count)], created: when()) }
        try await insert("documents", ["id", "persona_id", "name", "size_bytes", "sha256", "status", "chunk_count", "attempts",
                                       "created_at", "updated_at"], documents.enumerated().map { index, document in
            [SQLBind(document.id), SQLBind(document.persona), SQLBind("doc-\(index).txt"), SQLBind(10_000), SQLBind(String(repeating: "e", count: 64)),
             SQLBind(documentStatuses[random.int(0..<documentStatuses.count)]), SQLBind(perDocument), SQLBind(1), SQLBind(document.created),
             SQLBind(document.created)]
        }, database)
        let chunkRepository = ChunkRepository(kind: kind)
        for document in documents {
            let chunks = (0..<perDocument).map { position in
                NewChunk(id: Identifier.make(), documentId: document.id, index: position, text: "chunk \(position) of \(document.id)",
                         tokenCount: 200, curated: position % 50 == 49, embedding: [0.5, 0.5, 0.5, 0.5])
            }
            try await database.transaction { try await chunkRepository.insert(chunks, personaId: document.persona, model: model, now: now, on: $0) }
        }

        var open: Set<String> = []
        let kinds = PersonaAlert.Kind.allCases.map(\.rawValue)
        try await insert("persona_alerts", ["id", "persona_id", "kind", "status", "message", "opened_at", "resolved_at"],
                         (0..<options.alerts).map { _ in
            let (persona, alertKind) = (personas[random.int(0..<personas.count)], kinds[random.int(0..<kinds.count)])
            let status = random.int(0..<10) == 0 && open.insert(persona + alertKind).inserted ? "open" : "resolved"
            return [SQLBind(Identifier.make()), SQLBind(persona), SQLBind(alertKind), SQLBind(status), SQLBind("bench"), SQLBind(when()),
                    SQLBind(status == "open" ? nil : now as Date?)]
        }, database)
        if kind == .postgres {
            // What autovacuum would have done by now: statistics and the visibility map.
            try await database.withConnection { try await $0.raw("VACUUM ANALYZE").run() }
        }
        return Report(backend: kind.rawValue, personas: personas.count, runs: runs.count, toolRuns: options.toolRuns, llmSteps: llmSteps,
                      otherSteps: steps.count - llmSteps, approvals: approvals.count, documents: documents.count,
                      chunks: perDocument * documents.count,
                      alerts: options.alerts, days: options.days, seconds: (ContinuousClock.now - started) / .seconds(1))
    }

    /// Inserts `rows` into `table` in multi-row statements of 1,000 rows, each in its own transaction.
    private static func insert(_ table: String, _ columns: [String], _ rows: [[any SQLExpression]], _ database: Database) async throws {
        for start in stride(from: 0, to: rows.count, by: 1000) {
            let batch = Array(rows[start..<min(rows.count, start + 1000)])
            try await database.transaction { db in
                var insert = db.insert(into: table).columns(columns)
                for row in batch { insert = insert.values(row) }
                try await insert.run()
            }
        }
    }
}

/// A fault in the benchmark's own set-up.
struct BenchError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// A deterministic generator (SplitMix64).
struct SplitMix {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    mutating func int(_ range: Range<Int>) -> Int { range.lowerBound + Int(next() % UInt64(range.count)) }
}

struct DashboardSeedCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dashboard-seed",
        abstract: "Seed a dashboard history (runs, tool calls, LLM steps, approvals, memory, alerts) on the configured database; prints JSON.")
    @OptionGroup var common: CommonOptions
    @Option(help: "An existing admin's email (owns all personas but the user's).") var admin: String
    @Option(help: "An existing user's email (owns --owned personas).") var user: String
    @Option(help: "Personas.") var personas = 50
    @Option(help: "Personas the user owns.") var owned = 5
    @Option(help: "Runs.") var runs = 100_000
    @Option(help: "Tool runs.") var toolRuns = 200_000
    @Option(help: "Days the history spreads over.") var days = 30

    func run() async throws {
        let (configuration, logger) = try common.load()
        var options = DashboardBenchmark.Options()
        (options.personas, options.owned, options.runs, options.toolRuns, options.days) = (personas, owned, runs, toolRuns, days)
        let model = MemoryEmbedder(configuration: configuration, http: .shared).modelId
        let report = try await Database.with(configuration: configuration, logger: logger) { [options] database in
            try await DashboardBenchmark.seed(database: database, admin: admin, user: user, model: model, options: options)
        }
        try printJSONLine(report)
    }
}

struct DashboardProfileCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dashboard-profile",
        abstract: "Time each dashboard statement (median of --repeat) for a user on the configured database; prints JSON.")
    @OptionGroup var common: CommonOptions
    @Option(help: "The user's email.") var user: String
    @Option(help: "Runs of each statement.") var `repeat` = 5
    @Flag(help: "Print each statement's plan (PostgreSQL: EXPLAIN ANALYZE) instead of timing it.") var explain = false

    func run() async throws {
        let (configuration, logger) = try common.load()
        let (user, explain) = (user, explain)
        let times = try await Database.with(configuration: configuration, logger: logger) { database in
            try await DashboardBenchmark.profile(database: database, email: user, repeat: `repeat`, explain: explain)
        }
        try printJSONLine(times)
    }
}

extension DashboardBenchmark {
    /// Each statement's median time (ms) for the user with `email`, over a window ending now (UTC).
    static func profile(database: Database, email: String, repeat count: Int, explain: Bool) async throws -> [String: Double] {
        let repository = DashboardRepository(kind: database.kind)
        let window = DashboardWindow(now: Date(), timeZone: .gmt)
        return try await database.withConnection { db in
            guard let row = try await db.select().columns("id", "role").from("users").where("email", .equal, email).first() else {
                throw BenchError("no user \(email)")
            }
            let user = AuthenticatedUser(id: try row.decode(column: "id", as: String.self),
                                         role: try row.decode(column: "role", as: String.self) == "admin" ? .admin : .user, sessionId: "-")
            var out: [String: Double] = [:]
            for query in DashboardRepository.Query.allCases {
                if explain {
                    let prefix: SQLQueryString = database.kind == .postgres ? "EXPLAIN (ANALYZE, BUFFERS) " : "EXPLAIN QUERY PLAN "
                    let column = database.kind == .postgres ? "QUERY PLAN" : "detail"
                    let lines = try await db.raw(prefix + repository.sql(query, for: user, window: window)).all()
                        .map { try $0.decode(column: column, as: String.self) }
                    print("== \(query.rawValue)\n" + lines.joined(separator: "\n"))
                }
                var samples: [Double] = []
                for _ in 0..<max(1, count) {
                    let start = ContinuousClock.now
                    _ = try await db.raw(repository.sql(query, for: user, window: window)).all()
                    samples.append((ContinuousClock.now - start) / .milliseconds(1))
                }
                out[query.rawValue] = samples.sorted()[samples.count / 2]
            }
            return out
        }
    }
}
