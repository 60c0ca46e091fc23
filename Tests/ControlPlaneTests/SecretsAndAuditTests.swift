import ControlPlane
import Foundation
import PersonaKit
import SQLKit
import Testing
import TestSupport

@Suite("Secrets and audit")
struct SecretsAndAuditTests {
    @Test("secret values are write-only and encrypted at rest", arguments: TestBackend.allCases)
    func secretsWriteOnly(backend: TestBackend) async throws {
        try await TestApp.run(backend) { api, services in
            let admin = try await api.login().access
            let id = try #require(try await api.post("/api/personas", token: admin, json: ["name": "S"]).data?["id"]?.stringValue)
            let value = "sk-live-very-secret-value-123"
            let put = try await api.put("/api/personas/\(id)/secrets/OPENAI_API_KEY", token: admin, json: ["value": .string(value)])
            #expect(put.status == .created)
            #expect(!put.body.contains(value))
            #expect(try await api.put("/api/personas/\(id)/secrets/OPENAI_API_KEY", token: admin, json: ["value": "v2-secret"]).status == .ok)
            let list = try await api.get("/api/personas/\(id)/secrets", token: admin)
            #expect(list.data?.arrayValue?.map { $0["name"] } == ["OPENAI_API_KEY"])
            #expect(!list.body.contains("v2-secret"))
            // At rest: ciphertext only, and it opens to the value with the key.
            let stored = try await services.database.withConnection { db in
                try await db.select().column("ciphertext").from("persona_secrets").first()?.decode(column: "ciphertext", as: String.self)
            }
            let ciphertext = try #require(stored)
            #expect(!ciphertext.contains("v2-secret"))
            #expect(try services.openSecret(ciphertext, personaId: id, name: "OPENAI_API_KEY") == "v2-secret")
            #expect(throws: (any Error).self) { try services.openSecret(ciphertext, personaId: id, name: "OTHER") }
            // Nothing in the audit trail carries the value.
            let audit = try await api.get("/api/audit?personaId=\(id)", token: admin)
            #expect(audit.data?.arrayValue?.contains { $0["eventType"] == "secret.created" } == true)
            #expect(!audit.body.contains(value) && !audit.body.contains("v2-secret"))
            #expect(try await api.delete("/api/personas/\(id)/secrets/OPENAI_API_KEY", token: admin).status == .noContent)
            #expect(try await api.delete("/api/personas/\(id)/secrets/OPENAI_API_KEY", token: admin).status == .notFound)
        }
    }

    @Test("bad secret names and viewers are refused", arguments: TestBackend.allCases)
    func secretRules(backend: TestBackend) async throws {
        try await TestApp.run(backend) { api, _ in
            let admin = try await api.login().access
            let viewer = try await api.makeUser("viewer@example.com", adminToken: admin)
            let id = try #require(try await api.post("/api/personas", token: admin, json: ["name": "S"]).data?["id"]?.stringValue)
            #expect(try await api.post("/api/personas/\(id)/members", token: admin, json: ["userId": .string(viewer.id), "role": "viewer"]).status == .created)
            #expect(try await api.put("/api/personas/\(id)/secrets/1BAD", token: admin, json: ["value": "x"]).status == .badRequest)
            #expect(try await api.put("/api/personas/\(id)/secrets/has-dash", token: admin, json: ["value": "x"]).status == .badRequest)
            #expect(try await api.put("/api/personas/\(id)/secrets/OK", token: admin, json: ["value": 5]).status == .badRequest)
            #expect(try await api.put("/api/personas/\(id)/secrets/OK", token: viewer.token, json: ["value": "x"]).status == .forbidden)
            #expect(try await api.get("/api/personas/\(id)/secrets", token: viewer.token).status == .ok)
            let big = String(repeating: "x", count: 70_000)
            #expect(try await api.put("/api/personas/\(id)/secrets/BIG", token: admin, json: ["value": .string(big)]).status == .contentTooLarge)
        }
    }

    @Test("mutations and logins are audited with the request's trace id; filters and paging work", arguments: TestBackend.allCases)
    func auditTrail(backend: TestBackend) async throws {
        try await TestApp.run(backend) { api, _ in
            _ = try await api.post("/api/auth/login", json: ["email": .string(TestApp.adminEmail), "password": "wrong password"])
            let admin = try await api.login().access
            let traceId = "4bf92f3577b34da6a3ce929d0e0e4736"
            let created = try await api.request(.post, "/api/personas", token: admin, json: ["name": "Traced"],
                                                headers: [.init("traceparent")!: "00-\(traceId)-00f067aa0ba902b7-01"])
            #expect(created.headers[.init("X-Trace-Id")!] == traceId)
            let id = try #require(created.data?["id"]?.stringValue)
            let byTrace = try await api.get("/api/audit?traceId=\(traceId)", token: admin)
            #expect(byTrace.data?.arrayValue?.count == 1)
            #expect(byTrace.data?[0]?["eventType"] == "persona.created")
            #expect(byTrace.data?[0]?["personaId"]?.stringValue == id)
            let failed = try await api.get("/api/audit?type=auth.login_failed", token: admin)
            #expect(failed.data?.arrayValue?.count == 1)
            #expect(failed.data?[0]?["metadata"]?["reason"] == "bad_credentials")
            #expect(!failed.body.contains("wrong password"))
            #expect(try await api.get("/api/audit?type=auth.login", token: admin).data?.arrayValue?.count == 1)
            // Paging: two events at a time, newest first, no repeats.
            var all: [String] = []
            var cursor: String?
            repeat {
                let page = try await api.get("/api/audit?limit=2" + (cursor.map { "&cursor=\($0)" } ?? ""), token: admin)
                all += page.data?.arrayValue?.compactMap { $0["id"]?.stringValue } ?? []
                cursor = page.json?["nextCursor"]?.stringValue
            } while cursor != nil && all.count <= 1_000  // a cursor that repeats pages fails below, not hangs
            #expect(cursor == nil)
            #expect(all.count >= 4)
            #expect(all == all.sorted(by: >))
            #expect(Set(all).count == all.count)
            let future = try await api.get("/api/audit?from=2999-01-01T00:00:00Z", token: admin)
            #expect(future.data?.arrayValue?.isEmpty == true)
            let past = try await api.get("/api/audit?to=2000-01-01T00:00:00Z", token: admin)
            #expect(past.data?.arrayValue?.isEmpty == true)
            #expect(try await api.get("/api/audit?from=yesterday", token: admin).status == .badRequest)
            #expect(try await api.get("/api/audit?traceId=xyz", token: admin).status == .badRequest)
        }
    }

    @Test("only admins read the audit trail and settings", arguments: TestBackend.allCases)
    func adminOnly(backend: TestBackend) async throws {
        try await TestApp.run(backend) { api, _ in
            let admin = try await api.login().access
            let user = try await api.makeUser("plain@example.com", adminToken: admin)
            #expect(try await api.get("/api/audit", token: user.token).status == .forbidden)
            #expect(try await api.get("/api/admin/settings", token: user.token).status == .forbidden)
            #expect(try await api.get("/api/admin/users", token: user.token).status == .forbidden)
            #expect(try await api.post("/api/admin/users", token: user.token, json: ["email": "x@example.com", "name": "x", "password": "long enough password"]).status == .forbidden)
        }
    }
}
