import ControlPlane
import Foundation
import PersonaKit
import Testing
import TestSupport

@Suite("Administration")
struct AdminTests {
    @Test("admins create, list, update, disable and delete users", arguments: TestBackend.allCases)
    func userLifecycle(backend: TestBackend) async throws {
        try await TestApp.run(backend) { api, _ in
            let admin = try await api.login().access
            let created = try await api.post("/api/admin/users", token: admin, json: [
                "email": "Zed@Example.com", "name": "Zed", "password": "a long enough password",
            ])
            #expect(created.status == .created)
            #expect(created.data?["email"] == "zed@example.com")
            #expect(created.data?["role"] == "user")
            let id = try #require(created.data?["id"]?.stringValue)
            #expect(try await api.post("/api/admin/users", token: admin, json: [
                "email": "zed@example.com", "name": "Zed again", "password": "a long enough password",
            ]).status == .conflict)
            #expect(try await api.post("/api/admin/users", token: admin, json: [
                "email": "short@example.com", "name": "S", "password": "short",
            ]).status == .badRequest)
            #expect(try await api.post("/api/admin/users", token: admin, json: [
                "email": "not-an-email", "name": "S", "password": "a long enough password",
            ]).status == .badRequest)
            let list = try await api.get("/api/admin/users", token: admin)
            #expect(list.data?.arrayValue?.count == 2)
            let promoted = try await api.patch("/api/admin/users/\(id)", token: admin, json: ["role": "admin", "name": "Zed Z"])
            #expect(promoted.data?["role"] == "admin")
            #expect(try await api.get("/api/admin/users/\(id)", token: admin).data?["name"] == "Zed Z")
            #expect(try await api.delete("/api/admin/users/\(id)", token: admin).status == .noContent)
            #expect(try await api.get("/api/admin/users/\(id)", token: admin).status == .notFound)
            #expect(try await api.get("/api/admin/users/not-a-uuid", token: admin).status == .notFound)
        }
    }

    @Test("the last active admin cannot be demoted, disabled or deleted, nor can admins remove themselves", arguments: TestBackend.allCases)
    func lastAdminProtected(backend: TestBackend) async throws {
        try await TestApp.run(backend) { api, _ in
            let admin = try await api.login().access
            let me = try #require(try await api.get("/api/users/me", token: admin).data?["id"]?.stringValue)
            #expect(try await api.patch("/api/admin/users/\(me)", token: admin, json: ["role": "user"]).status == .conflict)
            #expect(try await api.patch("/api/admin/users/\(me)", token: admin, json: ["isActive": false]).status == .conflict)
            #expect(try await api.delete("/api/admin/users/\(me)", token: admin).status == .conflict)
            #expect(try await api.get("/api/users/me", token: admin).data?["role"] == "admin")
        }
    }

    @Test("settings have defaults, accept valid changes and refuse bad ones", arguments: TestBackend.allCases)
    func settings(backend: TestBackend) async throws {
        try await TestApp.run(backend) { api, _ in
            let admin = try await api.login().access
            let initial = try await api.get("/api/admin/settings", token: admin)
            #expect(initial.data?["defaultPersonaMemoryMb"]?.intValue == 2048)
            #expect(initial.data?["defaultPersonaCpuShares"]?.intValue == 512)
            let changed = try await api.put("/api/admin/settings", token: admin, json: ["defaultPersonaMemoryMb": 4096])
            #expect(changed.data?["defaultPersonaMemoryMb"]?.intValue == 4096)
            #expect(changed.data?["defaultPersonaCpuShares"]?.intValue == 512)
            #expect(try await api.put("/api/admin/settings", token: admin, json: ["defaultPersonaMemoryMb": 1]).status == .badRequest)
            #expect(try await api.put("/api/admin/settings", token: admin, json: ["defaultPersonaMemoryMb": "lots"]).status == .badRequest)
            #expect(try await api.put("/api/admin/settings", token: admin, json: ["colour": "blue"]).status == .badRequest)
            #expect(try await api.request(.put, "/api/admin/settings", token: admin, rawBody: "[1,2]").status == .badRequest)
            #expect(try await api.get("/api/admin/settings", token: admin).data?["defaultPersonaMemoryMb"]?.intValue == 4096)
        }
    }
}
