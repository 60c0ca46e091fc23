import ControlPlane
import Foundation
import PersonaKit
import Testing
import TestSupport
import Tools

extension ToolSearchTests {
    /// 100 tools that say little about weather or invoices, beside the realistic eight.
    static var crowd: [ToolManifest] {
        let verbs = ["archive", "audit", "backup", "compile", "deploy", "export", "import", "index", "merge", "monitor",
                     "notify", "publish", "rotate", "scan", "schedule", "sync", "tag", "translate", "validate", "visualize"]
        let nouns = ["ledger", "playlist", "sensor", "ticket", "warehouse"]
        return verbs.flatMap { verb in
            nouns.map { noun in
                manifest("zz_\(verb)_\(noun)", "\(verb.prefix(1).uppercased() + verb.dropFirst()) the \(noun) records of an account.",
                         properties: ["account", "\(noun)Id"])
            }
        }
    }

    @Test("a run whose agent selects tools by search offers each step the best few of 108, with their dependencies, and records them",
          arguments: TestBackend.allCases)
    func runsWithSearch(backend: TestBackend) async throws {
        let llm = ScriptedLLM([.text("Rain is likely."), .text("Sent.")])
        try await llm.serve { url in
            try await TestApp.run(backend, configure: {
                $0.litellmProxyURL = url
                $0.runWorker.pollInterval = .milliseconds(50)
            }) { api, services in
                let admin = try await api.login().access
                let persona = try #require(try await api.post("/api/personas", token: admin, json: ["name": "Big toolbox"]).data?["id"]?.stringValue)
                let manifests = Self.catalog + Self.crowd
                #expect(manifests.count == 108)
                try await services.database.transaction { tx in
                    // Image tools: they start switched on (uploaded ones start off).
                    try await services.tools.register(manifests, source: .image, on: tx)
                    try await services.tools.syncPersona(personaId: persona, manifests: manifests, now: Date(), on: tx)
                }
                // Embedded up front: a debug build embeds 108 texts slowly, and a run step would
                // otherwise do it on demand inside the time the run is given below.
                try await services.toolSearch.embedMissing()
                let agent = try await api.post("/api/personas/\(persona)/agents", token: admin, json: [
                    "name": "Picker", "model": "gpt-4o-mini", "maxSteps": 4, "toolSelection": ["mode": "search", "limit": 3],
                ])
                #expect(agent.status == .created, "\(agent.body)")
                #expect(agent.data?["toolSelection"] == ["mode": "search", "limit": 3])
                let agentId = try #require(agent.data?["id"]?.stringValue)
                #expect(try await api.patch("/api/agents/\(agentId)", token: admin, json: ["toolSelection": ["mode": "sometimes"]]).status == .badRequest)
                #expect(try await api.patch("/api/agents/\(agentId)", token: admin, json: ["toolSelection": ["mode": "search", "limit": 51]]).status == .badRequest)

                func run(_ input: String) async throws -> (offered: [String], step: JSONValue?) {
                    let created = try await api.post("/api/runs", token: admin, json: ["agentId": .string(agentId), "input": .string(input)])
                    let id = try #require(created.data?["id"]?.stringValue)
                    var done: APIResponse?
                    for _ in 0..<1200 {
                        let response = try await api.get("/api/runs/\(id)", token: admin)
                        if response.data?["status"] == "completed" || response.data?["status"] == "failed" { done = response; break }
                        try await Task.sleep(for: .milliseconds(50))
                    }
                    let finished = try #require(done)
                    #expect(finished.data?["status"] == "completed", "\(finished.body)")
                    let offered = await llm.requests.last?["tools"]?.arrayValue?.compactMap { $0["function"]?["name"]?.stringValue } ?? []
                    return (offered, finished.data?["steps"]?[0])
                }

                let weather = try await run("Will it rain in Lisbon tomorrow?")
                #expect(weather.offered.contains("zz_weather_forecast"), "\(weather.offered)")
                #expect(weather.offered.count == 3)
                #expect(weather.step?["detail"]?["toolSelection"]?["mode"] == "search")
                #expect(weather.step?["detail"]?["toolSelection"]?["tools"]?.arrayValue?.count == 3)

                let invoice = try await run("Please email Acme their invoice for March.")
                #expect(invoice.offered.contains("zz_invoice_send"), "\(invoice.offered)")
                // What the chosen tool depends on comes with it.
                #expect(invoice.offered.contains("zz_invoice_create"), "\(invoice.offered)")
                #expect(invoice.offered.count <= 4)
            }
        }
    }
}
