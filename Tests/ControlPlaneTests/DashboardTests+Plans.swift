import ControlPlane
import Foundation
import PersonaKit
import PersonaStorage
import SQLKit
import Testing
import TestSupport

extension DashboardTests {
    /// The tables that grow with use: none may be read whole.
    static let bigTables = ["runs", "tool_runs", "run_checkpoints", "llm_calls", "run_events", "run_approvals", "chunks", "documents",
                            "persona_alerts", "persona_health_metrics", "audit_events"]

    /// Indexes that lead with `persona_id`, like the dashboard's time indexes, but lack their
    /// time column.
    /// On the few hundred rows a test seeds, PostgreSQL may read `runs` through
    /// `runs_persona_idx` and filter the time range (the smaller index costs a page less),
    /// which says nothing about the statement; at the sizes the dashboard is for, the time range
    /// decides. They are dropped inside a savepoint that is rolled back, so the plan shows
    /// whether the statement can be read as an index range at all.
    static let narrowerIndexes = ["runs_persona_idx", "tool_runs_persona_idx", "tool_runs_key_idx", "tool_runs_open_idx"]

    /// The plan of each dashboard statement, as the engine prints it: SQLite's `EXPLAIN QUERY
    /// PLAN` details, or PostgreSQL's `EXPLAIN` lines with sequential scans priced out
    /// (`enable_seqscan = off`: a plan that still scans a table has no index to use) and the
    /// ``narrowerIndexes`` hidden.
    static func plans(_ database: Database, user: AuthenticatedUser,
                      window: DashboardWindow) async throws -> [DashboardRepository.Query: [String]] {
        let repository = DashboardRepository(kind: database.kind)
        var out: [DashboardRepository.Query: [String]] = [:]
        for query in DashboardRepository.Query.allCases {
            let sql = repository.sql(query, for: user, window: window)
            switch database.kind {
            case .sqlite:
                out[query] = try await database.withConnection { db in
                    try await db.raw("EXPLAIN QUERY PLAN " + sql).all().map { try $0.decode(column: "detail", as: String.self) }
                }
            case .postgres:
                out[query] = try await database.transaction { tx in
                    try await tx.raw("SET LOCAL enable_seqscan = off").run()
                    try await tx.raw("SET LOCAL lock_timeout = '10s'").run()
                    try await tx.raw("SAVEPOINT plans").run()
                    try await tx.raw(SQLQueryString("DROP INDEX " + Self.narrowerIndexes.joined(separator: ", "))).run()
                    let lines = try await tx.raw("EXPLAIN " + sql).all().map { try $0.decode(column: "QUERY PLAN", as: String.self) }
                    try await tx.raw("ROLLBACK TO SAVEPOINT plans").run()
                    return lines
                }
            }
        }
        return out
    }

    /// The index each statement must read its big table through, with the constraint SQLite
    /// prints (a time range where the statement is bounded by time), and the time column
    /// PostgreSQL's index condition must hold; `nil`: only the no-scan rule.
    static let expectedAccess: [DashboardRepository.Query: (index: String, sqlite: String, time: String?)] = [
        .runsDaily: ("runs_persona_created_idx", "(persona_id=? AND created_at>? AND created_at<?)", "created_at"),
        .runsHourly: ("runs_persona_created_idx", "(persona_id=? AND created_at>? AND created_at<?)", "created_at"),
        .runsMedian7Days: ("runs_persona_created_idx", "(persona_id=? AND created_at>? AND created_at<?)", "created_at"),
        .runsMedianToday: ("runs_persona_created_idx", "(persona_id=? AND created_at>? AND created_at<?)", "created_at"),
        .toolCallsDaily: ("tool_runs_persona_created_idx", "(persona_id=? AND created_at>? AND created_at<?)", "created_at"),
        .toolCallsHourly: ("tool_runs_persona_created_idx", "(persona_id=? AND created_at>? AND created_at<?)", "created_at"),
        .approvalsWaiting: ("runs_queue_idx", "(status=?)", nil),
        .approvalsDaily: ("run_approvals_created_idx", "(created_at>? AND created_at<?)", "created_at"),
        .documents: ("documents_persona_idx", "(persona_id=?)", nil),
        .chunks: ("chunks_persona_idx", "(persona_id=?)", nil),
        .llmDaily: ("llm_calls_persona_created_idx", "(persona_id=? AND created_at>? AND created_at<?)", "created_at"),
        .llmHourly: ("llm_calls_persona_created_idx", "(persona_id=? AND created_at>? AND created_at<?)", "created_at"),
        .alertsOpen: ("persona_alerts_open_idx", "(persona_id=?)", nil),
        .alertsDaily: ("persona_alerts_persona_idx", "(persona_id=? AND opened_at>? AND opened_at<?)", "opened_at"),
    ]

    @Test("every dashboard statement reads its big table through an index range (SQLite's query plan; PostgreSQL's with sequential scans priced out), for an admin and for a user",
          arguments: TestBackend.allCases)
    func plans(backend: TestBackend) async throws {
        try await TestApp.run(backend, configure: { $0.runWorker.maxConcurrentRuns = 0 }) { api, services in
            let admin = try await api.login().access
            let (_, alice, _, _) = try await Self.seed(api, services, admin: admin)
            let adminId = try #require(try await api.get("/api/users/me", token: admin).data?["id"]?.stringValue)
            let window = DashboardWindow(now: Date(), timeZone: try #require(TimeZone(identifier: "Europe/Paris")))
            let users = [AuthenticatedUser(id: adminId, role: .admin, sessionId: "-"), AuthenticatedUser(id: alice.id, role: .user, sessionId: "-")]
            for user in users {
                let plans = try await Self.plans(services.database, user: user, window: window)
                #expect(plans.count == DashboardRepository.Query.allCases.count)
                for (query, lines) in plans {
                    let plan = lines.joined(separator: "\n")
                    switch backend {
                    case .sqlite:
                        // Only the statement's own derived tables (t, s, w and SQLite's subqueries) are scanned.
                        let scans = lines.filter {
                            $0.hasPrefix("SCAN ") && !$0.hasPrefix("SCAN (subquery-") && !["SCAN t", "SCAN s", "SCAN w"].contains($0)
                        }
                        #expect(scans.isEmpty, "\(user.role) \(query): \(plan)")
                        if let access = Self.expectedAccess[query] {
                            #expect(plan.contains("INDEX \(access.index) \(access.sqlite)"), "\(user.role) \(query): \(plan)")
                        }
                    case .postgres:
                        let scans = lines.filter { line in
                            Self.bigTables.contains { line.contains("Seq Scan on \($0) ") || line.hasSuffix("Seq Scan on \($0)") }
                        }
                        #expect(scans.isEmpty, "\(user.role) \(query): \(plan)")
                        if let access = Self.expectedAccess[query] {
                            #expect(plan.contains(" \(access.index) "), "\(user.role) \(query): \(plan)")
                            if let time = access.time {
                                #expect(lines.contains { $0.contains("Index Cond:") && $0.contains("\(time) >=") && $0.contains("\(time) <") },
                                        "\(user.role) \(query): \(plan)")
                            }
                        }
                    }
                }
            }
        }
    }
}
