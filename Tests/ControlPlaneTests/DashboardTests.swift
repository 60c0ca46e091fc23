import ControlPlane
import Foundation
import PersonaKit
import PersonaStorage
import SQLKit
import Testing
import TestSupport

/// `GET /api/dashboard` on both engines: its figures against counts made in Swift over the
/// seeded rows, per caller (what each one sees), and its statements' plans (+Plans).
@Suite("Dashboard")
struct DashboardTests {
    struct Envelope: Decodable { var data: Dashboard }

    /// Five personas: alice owns two and is a member of one of the admin's; bob owns one; the
    /// admin's other one is nobody else's. Each container in another state (one never started).
    static func seed(_ api: APIClient, _ services: AppComponents, admin: String, now: Date = Date()) async throws
        -> (seed: DashboardSeed, alice: (id: String, token: String), bob: (id: String, token: String), visible: [String: Set<String>]) {
        let alice = try await api.makeUser("alice-dashboard@example.com", adminToken: admin)
        let bob = try await api.makeUser("bob-dashboard@example.com", adminToken: admin)
        let adminId = try #require(try await api.get("/api/users/me", token: admin).data?["id"]?.stringValue)
        let ids = (0..<5).map { _ in Identifier.make() }
        let personas: [(id: String, owner: String, state: String?)] = [
            (ids[0], alice.id, "ready"), (ids[1], alice.id, nil), (ids[2], adminId, "failed"), (ids[3], bob.id, "unhealthy"),
            (ids[4], adminId, "starting"),
        ]
        let seed = DashboardSeed(personas: personas, now: now)
        let repository = PersonaRepository()
        try await services.database.withConnection { db in
            for persona in personas {
                try await repository.insert(Persona(id: persona.id, ownerId: persona.owner, name: "dashboard \(persona.id.prefix(8))",
                                                    description: nil, systemPrompt: nil, theme: nil, now: Date()), on: db)
            }
            _ = try await repository.upsertMember(personaId: ids[2], userId: alice.id, role: .viewer, now: Date(), on: db)
            try await seed.insert(into: db, kind: services.database.kind, model: services.memory.embedder.modelId)
        }
        return (seed, alice, bob, [admin: Set(ids), alice.token: [ids[0], ids[1], ids[2]], bob.token: [ids[3]]])
    }

    @Test("every figure equals a count made in Swift over the seeded rows, for an admin, a user who owns and shares personas and another owner",
          arguments: TestBackend.allCases)
    func figures(backend: TestBackend) async throws {
        // No run worker: it would take the seeded queued runs (and fail them, having no agent).
        try await TestApp.run(backend, configure: { $0.runWorker.maxConcurrentRuns = 0 }) { api, services in
            let admin = try await api.login().access
            let (seed, alice, bob, visible) = try await Self.seed(api, services, admin: admin)
            var seen: [String: Dashboard] = [:]
            for (token, zone) in [(admin, "Asia/Kolkata"), (alice.token, "America/New_York"), (bob.token, "UTC"), (admin, nil)] {
                let response = try await api.get("/api/dashboard" + (zone.map { "?tz=\($0)" } ?? ""), token: token)
                #expect(response.status == .ok, "\(response.body.prefix(300))")
                let got = try JSONCoding.decode(Envelope.self, from: response.body).data
                let timeZone = try #require(TimeZone(identifier: zone ?? "UTC"))
                let expected = Self.expected(seed, visible: visible[token] ?? [], generatedAt: got.window.generatedAt, timeZone: timeZone)
                #expect(got.window == expected.window)
                #expect(got.personas == expected.personas)
                #expect(got.runs == expected.runs)
                #expect(got.toolCalls == expected.toolCalls)
                #expect(got.approvals == expected.approvals)
                #expect(got.memory == expected.memory)
                #expect(got.llm == expected.llm)
                #expect(got.alerts == expected.alerts)
                seen[token] = got
            }
            // The seed gives every card something on both sides, so seeing too much would show.
            let (all, mine, bobs) = (try #require(seen[admin]), try #require(seen[alice.token]), try #require(seen[bob.token]))
            for (part, whole) in [(mine, all), (bobs, all)] {
                #expect(part.personas.total < whole.personas.total)
                #expect(part.runs.daily.reduce(0, +) < whole.runs.daily.reduce(0, +))
                #expect(part.toolCalls.daily.reduce(0, +) < whole.toolCalls.daily.reduce(0, +))
                #expect(part.llm.callsDaily.reduce(0, +) < whole.llm.callsDaily.reduce(0, +))
                #expect(part.approvals.requestedDaily.reduce(0, +) < whole.approvals.requestedDaily.reduce(0, +))
                #expect(part.memory.chunks < whole.memory.chunks)
                #expect(part.memory.documents < whole.memory.documents)
                #expect(part.alerts.openedDaily.reduce(0, +) < whole.alerts.openedDaily.reduce(0, +))
            }
            #expect(all.runs.hourly.reduce(0, +) > 0 && all.runs.medianDurationMs7Days != nil && all.approvals.waiting > 0
                    && all.llm.byModel7Days.count == 3 && all.toolCalls.topTools.count == 5 && all.alerts.open > 0,
                    "the seed reaches every figure")

            let bad = try await api.get("/api/dashboard?tz=Mars/Olympus_Mons", token: admin)
            #expect(bad.status == .badRequest)
            #expect(try await api.get("/api/dashboard").status == .unauthorized)
        }
    }

    /// The dashboard `visible` should give, counted over the seed's records.
    static func expected(_ seed: DashboardSeed, visible: Set<String>, generatedAt: Date, timeZone: TimeZone) -> Dashboard {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = timeZone
        let midnight = calendar.startOfDay(for: generatedAt)
        /// 13 for today, 0 for 13 days ago, nil outside.
        func day(_ date: Date) -> Int? {
            guard let ago = calendar.dateComponents([.day], from: calendar.startOfDay(for: date), to: midnight).day, (0..<14).contains(ago)
            else { return nil }
            return 13 - ago
        }
        let hourCount = Int(generatedAt.timeIntervalSince(midnight) / 3600) + 1
        func hour(_ date: Date) -> Int? {
            date >= midnight ? Int(date.timeIntervalSince(midnight) / 3600) : nil
        }
        func daily<T>(_ rows: [T], _ date: (T) -> Date, _ value: (T) -> Int = { _ in 1 }) -> [Int] {
            var out = [Int](repeating: 0, count: 14)
            for row in rows { if let d = day(date(row)) { out[d] += value(row) } }
            return out
        }
        func hourly<T>(_ rows: [T], _ date: (T) -> Date, _ value: (T) -> Int = { _ in 1 }) -> [Int] {
            var out = [Int](repeating: 0, count: hourCount)
            for row in rows { if let h = hour(date(row)), h < hourCount { out[h] += value(row) } }
            return out
        }
        func inWeek(_ date: Date) -> Bool { (day(date) ?? -1) >= 7 }
        func median(_ values: [Double]) -> Int? {
            let sorted = values.sorted()
            guard !sorted.isEmpty else { return nil }
            let middle = sorted.count / 2
            return Int((sorted.count % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2).rounded())
        }

        let personas = seed.personas.filter { visible.contains($0.id) }
        let runs = seed.runs.filter { visible.contains($0.persona) }
        var byState = Dictionary(uniqueKeysWithValues: ContainerState.allCases.map { ($0.rawValue, 0) })
        for persona in personas { byState[persona.state ?? "stopped", default: 0] += 1 }
        var active = [Int](repeating: 0, count: 14)
        for (d, rows) in Dictionary(grouping: runs.filter { day($0.created) != nil }, by: { day($0.created) ?? 0 }) {
            active[d] = Set(rows.map(\.persona)).count
        }

        let week = runs.filter { inWeek($0.created) }
        var byStatus = Dictionary(uniqueKeysWithValues: RunStatus.allCases.map { ($0.rawValue, 0) })
        for run in week { byStatus[run.status, default: 0] += 1 }
        let (completed, failed) = (byStatus["completed"] ?? 0, byStatus["failed"] ?? 0)
        func durations(_ rows: [DashboardSeed.RunRow]) -> [Double] {
            rows.compactMap { run in
                guard run.status == "completed", let started = run.started, let completed = run.completed else { return nil }
                return completed.timeIntervalSince(started) * 1000
            }
        }

        let calls = seed.tools.filter { visible.contains($0.persona) }
        func isFailure(_ status: String) -> Bool { ["failed", "timed_out", "interrupted"].contains(status) }
        var perTool: [String: Dashboard.ToolCount] = [:]
        for call in calls where inWeek(call.created) {
            perTool[call.tool, default: .init(tool: call.tool, calls: 0, failed: 0)].calls += 1
            if isFailure(call.status) { perTool[call.tool, default: .init(tool: call.tool, calls: 0, failed: 0)].failed += 1 }
        }
        let topTools = perTool.values.sorted { $0.calls != $1.calls ? $0.calls > $1.calls : $0.tool < $1.tool }

        let runStatus = Dictionary(uniqueKeysWithValues: seed.runs.map { ($0.id, $0.status) })
        let approvals = seed.approvals.filter { visible.contains($0.persona) }
        let waiting = approvals.filter { $0.status == "pending" && runStatus[$0.run] == "awaiting_approval" }

        let documents = seed.documents.filter { visible.contains($0.persona) }
        var documentsByStatus = ["pending": 0, "processing": 0, "completed": 0, "failed": 0]
        for document in documents { documentsByStatus[document.status, default: 0] += 1 }
        let chunks = seed.chunks.filter { visible.contains($0.persona) }

        let steps = seed.llm.filter { visible.contains($0.persona) && $0.node == "llm" }
        var models: [String: Dashboard.ModelUsage] = [:]
        for step in steps where inWeek(step.created) {
            var usage = models[step.model] ?? .init(model: step.model, calls: 0, promptTokens: 0, completionTokens: 0)
            usage.calls += 1
            usage.promptTokens += step.prompt
            usage.completionTokens += step.completion
            models[step.model] = usage
        }
        let tokens = { (step: DashboardSeed.LLMRow) in step.prompt + step.completion }
        let callsDaily = daily(steps, \.created), tokensDaily = daily(steps, \.created, tokens)

        let alerts = seed.alerts.filter { visible.contains($0.persona) }
        var openByKind = Dictionary(uniqueKeysWithValues: PersonaAlert.Kind.allCases.map { ($0.rawValue, 0) })
        for alert in alerts where alert.status == "open" { openByKind[alert.kind, default: 0] += 1 }

        let runsDaily = daily(runs, \.created), toolsDaily = daily(calls, \.created)
        let failedCalls = daily(calls.filter { isFailure($0.status) }, \.created)
        return Dashboard(
            window: .init(generatedAt: generatedAt, timeZone: timeZone.identifier,
                          days: (0..<14).reversed().compactMap { calendar.date(byAdding: .day, value: -$0, to: generatedAt).map(calendar.startOfDay) },
                          hours: (0..<hourCount).map { midnight.addingTimeInterval(Double($0) * 3600) }),
            personas: .init(total: personas.count, byState: byState, activeToday: active[13], activeDaily: active),
            runs: .init(today: runsDaily[13], last7Days: week.count, byStatus7Days: byStatus,
                        successRate7Days: completed + failed == 0 ? nil : Double(completed) / Double(completed + failed),
                        medianDurationMsToday: median(durations(runs.filter { day($0.created) == 13 })),
                        medianDurationMs7Days: median(durations(week)),
                        daily: runsDaily, completedDaily: daily(runs.filter { $0.status == "completed" }, \.created),
                        failedDaily: daily(runs.filter { $0.status == "failed" }, \.created), hourly: hourly(runs, \.created)),
            toolCalls: .init(today: toolsDaily[13], last7Days: toolsDaily[7...].reduce(0, +), failed7Days: failedCalls[7...].reduce(0, +),
                             topTools: Array(topTools.prefix(5)), daily: toolsDaily, failedDaily: failedCalls, hourly: hourly(calls, \.created)),
            approvals: .init(waiting: waiting.count, runsWaiting: Set(waiting.map(\.run)).count,
                             oldestWaitingSince: waiting.map(\.created).min(), requestedDaily: daily(approvals, \.created)),
            memory: .init(documents: documents.count, documentsByStatus: documentsByStatus, chunks: chunks.count,
                          curatedChunks: chunks.filter(\.curated).count, documentsDaily: daily(documents, \.created),
                          chunksDaily: daily(documents, \.created, \.chunks)),
            llm: .init(callsToday: callsDaily[13], calls7Days: callsDaily[7...].reduce(0, +), tokensToday: tokensDaily[13],
                       tokens7Days: tokensDaily[7...].reduce(0, +),
                       byModel7Days: models.values.sorted { $0.calls != $1.calls ? $0.calls > $1.calls : $0.model < $1.model },
                       callsDaily: callsDaily, tokensDaily: tokensDaily, callsHourly: hourly(steps, \.created),
                       tokensHourly: hourly(steps, \.created, tokens)),
            alerts: .init(open: alerts.filter { $0.status == "open" }.count, openByKind: openByKind, openedDaily: daily(alerts, \.opened)))
    }
}
