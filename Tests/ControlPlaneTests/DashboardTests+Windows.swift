import ControlPlane
import Foundation
import PersonaKit
import PersonaStorage
import Testing
import TestSupport

extension DashboardTests {
    /// Windows whose days or hours are not 24 × 3,600 s from midnight, each with rows seeded
    /// around its own `now`.
    enum Edge: String, CaseIterable, CustomStringConvertible {
        case springForward, fallBack, firstHour, midnightSkipped

        var description: String { rawValue }
        var zone: String {
            switch self {
            case .springForward: "Europe/Paris"
            case .fallBack: "America/New_York"
            case .firstHour: "Asia/Kolkata"
            case .midnightSkipped: "America/Santiago"
            }
        }
        /// A 23-hour day after noon; a 25-hour day half an hour before its end; 20 minutes into a
        /// +05:30 day (one hour: no hour CASE); a day that starts at 01:00 (no midnight).
        var now: String {
            switch self {
            case .springForward: "2026-03-29T10:30:00Z"
            case .fallBack: "2026-11-02T04:30:00Z"
            case .firstHour: "2026-06-14T18:50:00Z"
            case .midnightSkipped: "2026-09-06T14:00:00Z"
            }
        }
    }

    @Test("days and hours of DST-change days, a day's first hour and a day without a midnight bucket as counted in Swift",
          arguments: TestBackend.allCases, Edge.allCases)
    func edgeWindows(backend: TestBackend, edge: Edge) async throws {
        try await TestApp.run(backend, configure: { $0.runWorker.maxConcurrentRuns = 0 }) { api, services in
            let admin = try await api.login().access
            let now = try #require(JSONCoding.parseTimestamp(edge.now))
            let timeZone = try #require(TimeZone(identifier: edge.zone))
            let (seed, alice, _, visible) = try await Self.seed(api, services, admin: admin, now: now)
            let adminId = try #require(try await api.get("/api/users/me", token: admin).data?["id"]?.stringValue)
            let window = DashboardWindow(now: now, timeZone: timeZone)
            let hours: Int = switch edge {
            case .springForward: 12  // 12:30 CEST: 00:00 to 12:59 less the skipped 02:00 hour
            case .fallBack: 25
            case .firstHour: 1
            case .midnightSkipped: 11  // 11:00 local: the day began at 01:00
            }
            #expect(window.hours.count == hours)
            let repository = DashboardRepository(kind: services.database.kind)
            for (user, token) in [(AuthenticatedUser(id: adminId, role: .admin, sessionId: "-"), admin),
                                  (AuthenticatedUser(id: alice.id, role: .user, sessionId: "-"), alice.token)] {
                let got = try await services.database.withConnection { try await repository.load(for: user, window: window, on: $0) }
                let expected = Self.expected(seed, visible: visible[token] ?? [], generatedAt: now, timeZone: timeZone)
                #expect(got == expected, "\(edge) \(user.role)")
                #expect(got.runs.hourly.reduce(0, +) > 0 || user.role != .admin, "the seed reaches today's hours")
            }
        }
    }
}

extension DashboardTests {
    @Test("a real run's LLM step (recorded by the run worker) shows in the LLM card with the gateway's model and tokens",
          arguments: TestBackend.allCases)
    func realRunStep(backend: TestBackend) async throws {
        let llm = ScriptedLLM([.text("hello", usage: .init(promptTokens: 31, completionTokens: 5))])
        try await llm.serve { url in
            try await TestApp.run(backend, configure: {
                $0.litellmProxyURL = url
                $0.runWorker.pollInterval = .milliseconds(50)
            }) { api, _ in
                let admin = try await api.login().access
                let persona = try #require(try await api.post("/api/personas", token: admin, json: ["name": "D"]).data?["id"]?.stringValue)
                let agent = try #require(try await api.post("/api/personas/\(persona)/agents", token: admin,
                                                            json: ["name": "A", "model": "m"]).data?["id"]?.stringValue)
                let run = try #require(try await api.post("/api/runs", token: admin, json: ["agentId": .string(agent), "input": "hi"])
                    .data?["id"]?.stringValue)
                for _ in 0..<200 where try await api.get("/api/runs/\(run)", token: admin).data?["status"] != "completed" {
                    try await Task.sleep(for: .milliseconds(25))
                }
                let dashboard = try JSONCoding.decode(Envelope.self, from: try await api.get("/api/dashboard", token: admin).body).data
                #expect(dashboard.llm.callsToday == 1)
                #expect(dashboard.llm.tokensToday == 36)
                #expect(dashboard.llm.byModel7Days == [.init(model: "scripted-model", calls: 1, promptTokens: 31, completionTokens: 5)])
                #expect(dashboard.runs.byStatus7Days["completed"] == 1)
                #expect(dashboard.runs.medianDurationMsToday != nil)
            }
        }
    }
}
