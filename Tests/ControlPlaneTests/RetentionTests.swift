@testable import ControlPlane
import Foundation
import Logging
import PersonaKit
import PersonaStorage
import SQLKit
import Testing
import TestSupport

@Suite("Retention")
struct RetentionTests {
    @Test("old audit events go; old finished runs keep their timeline but lose state deltas and event logs; recent ones stay",
          arguments: TestBackend.allCases)
    func retention(backend: TestBackend) async throws {
        let llm = ScriptedLLM([.text("first"), .text("second")])
        try await llm.serve { url in
            try await TestApp.run(backend, configure: {
                $0.litellmProxyURL = url
                $0.runWorker.pollInterval = .milliseconds(50)
            }) { api, services in
                let admin = try await api.login().access
                let persona = try #require(try await api.post("/api/personas", token: admin, json: ["name": "R"]).data?["id"]?.stringValue)
                let agent = try #require(try await api.post("/api/personas/\(persona)/agents", token: admin,
                                                            json: ["name": "A", "model": "m"]).data?["id"]?.stringValue)
                var made: [String] = []
                for _ in 0..<2 {
                    let id = try #require(try await api.post("/api/runs", token: admin, json: ["agentId": .string(agent), "input": "hi"]).data?["id"]?.stringValue)
                    for _ in 0..<200 where try await api.get("/api/runs/\(id)", token: admin).data?["status"] != "completed" {
                        try await Task.sleep(for: .milliseconds(25))
                    }
                    made.append(id)
                }
                let runs = made
                // Age the first run and one audit event past the defaults (30 and 365 days).
                let old = Date().addingTimeInterval(-400 * 86_400)
                try await services.database.withConnection { db in
                    try await db.update("runs").set("completed_at", to: old).where("id", .equal, runs[0]).run()
                    try await db.update("audit_events").set("created_at", to: old).where("event_type", .equal, "persona.created").run()
                }
                // Persona events: an old one, a two-day-old health event, a two-day-old alert, a fresh health event.
                let events = PersonaEventRepository()
                try await services.database.withConnection { db in
                    try await events.append(personaId: persona, type: "alert.opened", data: ["n": 1], now: old, on: db)
                    try await events.append(personaId: persona, type: "health", data: ["n": 2], now: Date().addingTimeInterval(-2 * 86_400), on: db)
                    try await events.append(personaId: persona, type: "alert.resolved", data: ["n": 3], now: Date().addingTimeInterval(-2 * 86_400), on: db)
                    try await events.append(personaId: persona, type: "health", data: ["n": 4], now: Date(), on: db)
                }
                let outcome = try await RetentionService(database: services.database, startup: services.startup, logger: Logger(label: "test")).sweep(now: Date())
                #expect(outcome.personaEvents == 2)
                let kept = try await services.database.withConnection { try await events.events(personaId: persona, after: 0, limit: 10, on: $0) }
                #expect(kept.map(\.type) == ["alert.resolved", "health"])
                #expect(outcome.auditEvents == 1)
                #expect(outcome.compactedCheckpoints == 1)
                #expect(outcome.runEvents >= 2)
                let (deltas, runEvents, audit) = try await services.database.withConnection { db in
                    (try await db.select().column("run_id").column("delta").from("run_checkpoints").all()
                        .map { (try $0.decode(column: "run_id", as: String.self), try $0.decode(column: "delta", as: String.self)) },
                     try await db.select().column("run_id").from("run_events").all().map { try $0.decode(column: "run_id", as: String.self) },
                     try await db.select().column("event_type").from("audit_events").all().map { try $0.decode(column: "event_type", as: String.self) })
                }
                #expect(deltas.filter { $0.0 == runs[0] }.allSatisfy { $0.1 == "{}" })
                #expect(deltas.filter { $0.0 == runs[1] }.allSatisfy { $0.1 != "{}" })
                #expect(!runEvents.contains(runs[0]))
                #expect(runEvents.contains(runs[1]))
                #expect(!audit.contains("persona.created"))
                #expect(audit.contains("agent.created") || audit.contains("run.created"))
                // The old run's timeline is still there.
                let detail = try await api.get("/api/runs/\(runs[0])", token: admin)
                #expect(detail.data?["output"] == "first")
                #expect(detail.data?["steps"]?.arrayValue?.count == 1)
                // A second pass finds nothing left to do.
                #expect(try await RetentionService(database: services.database, startup: services.startup, logger: Logger(label: "test")).sweep(now: Date()) == .init())
            }
        }
    }
}
