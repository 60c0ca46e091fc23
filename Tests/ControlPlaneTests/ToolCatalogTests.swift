import ControlPlane
import Foundation
import PersonaKit
import PersonaStorage
import SQLKit
import Testing
import TestSupport
import Tools

@Suite("Tool catalog and dependencies")
struct ToolCatalogTests {
    /// A manifest in the test's own category, so the image catalog a test app may also load
    /// does not change what the assertions see.
    static func manifest(_ name: String, _ version: String = "1.0.0", category: String = "zz-testing", dependsOn: [String] = [],
                         description: String? = nil) -> ToolManifest {
        ToolManifest(name: name, version: version, description: description ?? "The \(name) test tool", category: category,
                     inputSchema: ["type": "object", "properties": ["x": ["type": "string"]]], dependsOn: dependsOn,
                     command: ["run"])
    }

    static func register(_ services: AppComponents, _ manifests: [ToolManifest], source: ToolSource? = .custom) async throws {
        _ = try await services.database.transaction { try await services.tools.register(manifests, source: source, on: $0) }
    }

    static func refusal(_ services: AppComponents, _ manifests: [ToolManifest]) async -> APIError? {
        do {
            try await register(services, manifests)
            return nil
        } catch let error as APIError {
            return error
        } catch {
            Issue.record("unexpected error \(error)")
            return nil
        }
    }

    @Test("registration refuses cycles, missing dependencies and unsatisfiable ranges, naming them, and writes nothing",
          arguments: TestBackend.allCases)
    func refusals(backend: TestBackend) async throws {
        try await TestApp.run(backend) { api, services in
            let admin = try await api.login().access
            try await Self.register(services, [Self.manifest("zz_base", "1.0.0")])
            let before = try await services.database.withConnection { try await ToolCatalogRepository().all(on: $0).filter { $0.name.hasPrefix("zz_") }.count }

            let cycle = await Self.refusal(services, [Self.manifest("zz_a", dependsOn: ["zz_b"]), Self.manifest("zz_b", dependsOn: ["zz_c"]),
                                                      Self.manifest("zz_c", dependsOn: ["zz_a@^1.0.0"])])
            #expect(cycle?.status == .unprocessableContent)
            #expect(cycle?.code == "dependency_cycle")
            #expect(cycle?.message.contains("zz_a@1.0.0 -> zz_b@1.0.0 -> zz_c@1.0.0 -> zz_a@1.0.0") == true)

            let missing = await Self.refusal(services, [Self.manifest("zz_needy", dependsOn: ["zz_nowhere"])])
            #expect(missing?.code == "dependency_missing")
            #expect(missing?.message.contains("zz_nowhere") == true)

            let range = await Self.refusal(services, [Self.manifest("zz_picky", dependsOn: ["zz_base@^2.0.0"])])
            #expect(range?.code == "dependency_unsatisfiable")
            #expect(range?.message.contains("zz_base@^2.0.0") == true && range?.message.contains("1.0.0") == true)

            let invalid = await Self.refusal(services, [Self.manifest("zz_bad", "one")])
            #expect(invalid?.code == "tool_invalid")

            // A new version that would close a cycle through a stored tool is refused as well.
            try await Self.register(services, [Self.manifest("zz_up", dependsOn: ["zz_down"]), Self.manifest("zz_down")])
            let closing = await Self.refusal(services, [Self.manifest("zz_down", "1.1.0", dependsOn: ["zz_up"])])
            #expect(closing?.code == "dependency_cycle")

            let after = try await services.database.withConnection { try await ToolCatalogRepository().all(on: $0).filter { $0.name.hasPrefix("zz_") }.count }
            #expect(after == before + 2)
            let list = try await api.get("/api/tools?category=zz-testing", token: admin)
            #expect(list.data?.arrayValue?.compactMap { $0["name"]?.stringValue } == ["zz_base", "zz_down", "zz_up"])
            #expect(list.data?[1]?["versions"] == ["1.0.0"])
        }
    }

    @Test("the catalog lists, filters, pages and counts tools; the detail gives versions and the chain in install order",
          arguments: TestBackend.allCases)
    func catalog(backend: TestBackend) async throws {
        try await TestApp.run(backend) { api, services in
            let admin = try await api.login().access
            let user = try await api.makeUser("catalog-user@example.com", adminToken: admin)
            try await Self.register(services, [
                Self.manifest("zz_core", "1.0.0"), Self.manifest("zz_core", "1.2.0"), Self.manifest("zz_core", "2.0.0"),
                Self.manifest("zz_mid", dependsOn: ["zz_core@^1.0.0"]),
                Self.manifest("zz_top", dependsOn: ["zz_mid", "zz_core@>=1.0.0"]),
                Self.manifest("zz_sheet", category: "zz-office", description: "Write a zzquux spreadsheet with formulas"),
            ])
            let all = try await api.get("/api/tools?category=zz-testing", token: user.token)
            #expect(all.status == .ok)
            #expect(all.data?.arrayValue?.compactMap { $0["name"]?.stringValue } == ["zz_core", "zz_mid", "zz_top"])
            #expect(all.data?[0]?["version"] == "2.0.0")
            #expect(all.data?[0]?["versions"] == ["2.0.0", "1.2.0", "1.0.0"])
            #expect(all.data?[0]?["source"] == "custom")

            var names: [String] = []
            var cursor: String?
            repeat {
                let page = try await api.get("/api/tools?category=zz-testing&limit=2" + (cursor.map { "&cursor=\($0)" } ?? ""), token: user.token)
                names += page.data?.arrayValue?.compactMap { $0["name"]?.stringValue } ?? []
                let next = page.json?["nextCursor"]?.stringValue
                #expect(next != cursor)
                cursor = next
            } while cursor != nil
            #expect(names == ["zz_core", "zz_mid", "zz_top"])

            let search = try await api.get("/api/tools?q=ZZQUUX", token: user.token)
            #expect(search.data?.arrayValue?.compactMap { $0["name"]?.stringValue } == ["zz_sheet"])
            #expect(try await api.get("/api/tools?q=100%25_", token: user.token).data?.arrayValue?.isEmpty == true)
            #expect(try await api.get("/api/tools?source=custom&category=zz-office", token: user.token).data?.arrayValue?.count == 1)
            #expect(try await api.get("/api/tools?source=image&category=zz-office", token: user.token).data?.arrayValue?.isEmpty == true)
            #expect(try await api.get("/api/tools?source=nope", token: user.token).status == .badRequest)

            let categories = try await api.get("/api/tools/categories", token: user.token)
            let counts = Dictionary(uniqueKeysWithValues: (categories.data?.arrayValue ?? []).compactMap { item in
                item["category"]?.stringValue.map { ($0, item["count"]?.intValue ?? -1) }
            })
            #expect(counts["zz-testing"] == 3 && counts["zz-office"] == 1)

            let top = try await api.get("/api/tools/zz_top", token: user.token)
            #expect(top.status == .ok)
            // zz_mid needs zz_core ^1 (so 1.2.0); zz_top also needs zz_core >=1 (2.0.0): each
            // version comes after what it needs.
            let links = top.data?["dependencyChain"]?.arrayValue ?? []
            let chain = links.map { ($0["name"]?.stringValue ?? "?") + "@" + ($0["version"]?.stringValue ?? "?") }
            #expect(Set(chain) == ["zz_core@1.2.0", "zz_core@2.0.0", "zz_mid@1.0.0"])
            #expect(try #require(chain.firstIndex(of: "zz_core@1.2.0")) < #require(chain.firstIndex(of: "zz_mid@1.0.0")))
            #expect(top.data?["dependsOn"] == ["zz_mid", "zz_core@>=1.0.0"])

            let core = try await api.get("/api/tools/zz_core", token: user.token)
            #expect(core.data?["version"] == "2.0.0")
            #expect(core.data?["versions"]?.arrayValue?.compactMap { $0["version"]?.stringValue } == ["2.0.0", "1.2.0", "1.0.0"])
            let oldId = try #require(core.data?["versions"]?[2]?["id"]?.stringValue)
            #expect(try await api.get("/api/tools/\(oldId)", token: user.token).data?["version"] == "1.0.0")

            // A new version inside zz_mid's range becomes what it resolves to.
            try await Self.register(services, [Self.manifest("zz_core", "1.3.0")])
            let mid = try await api.get("/api/tools/zz_mid", token: user.token)
            #expect(mid.data?["dependencyChain"]?.arrayValue?.compactMap { $0["version"]?.stringValue } == ["1.3.0"])

            #expect(try await api.get("/api/tools/zz_nothing", token: user.token).status == .notFound)
            #expect(try await api.get("/api/tools/\(Identifier.make())", token: user.token).status == .notFound)
            #expect(try await api.get("/api/tools").status == .unauthorized)
        }
    }

    @Test("turning a persona's tool on turns on what it needs; turning off a tool others need is refused",
          arguments: TestBackend.allCases)
    func personaSwitches(backend: TestBackend) async throws {
        try await TestApp.run(backend) { api, services in
            let admin = try await api.login().access
            let other = try await api.makeUser("other@example.com", adminToken: admin)
            let id = try #require(try await api.post("/api/personas", token: admin, json: ["name": "Switches"]).data?["id"]?.stringValue)
            let manifests = [Self.manifest("zz_leaf"), Self.manifest("zz_branch", dependsOn: ["zz_leaf"]),
                             Self.manifest("zz_root", dependsOn: ["zz_branch@^1.0.0"]), Self.manifest("zz_alone")]
            try await Self.register(services, manifests, source: .image)  // an image's tools start switched on
            // What its supervisor would report when it registers.
            try await services.database.transaction {
                try await services.tools.syncPersona(personaId: id, manifests: manifests, now: Date(), on: $0)
            }
            func enabled() async throws -> [String: Bool] {
                let tools = try await api.get("/api/personas/\(id)/tools", token: admin).data?.arrayValue ?? []
                return Dictionary(uniqueKeysWithValues: tools.compactMap { tool in
                    tool["name"]?.stringValue.map { ($0, tool["enabled"]?.boolValue ?? false) }
                })
            }
            #expect(try await api.patch("/api/personas/\(id)/tools/zz_root", token: admin, json: ["enabled": false]).status == .ok)
            #expect(try await api.patch("/api/personas/\(id)/tools/zz_branch", token: admin, json: ["enabled": false]).status == .ok)
            #expect(try await api.patch("/api/personas/\(id)/tools/zz_leaf", token: admin, json: ["enabled": false]).status == .ok)
            #expect(try await enabled() == ["zz_leaf": false, "zz_branch": false, "zz_root": false, "zz_alone": true])

            let on = try await api.patch("/api/personas/\(id)/tools/zz_root", token: admin, json: ["enabled": true])
            #expect(on.status == .ok)
            #expect(on.data?["enabled"] == true)
            #expect(try await enabled() == ["zz_leaf": true, "zz_branch": true, "zz_root": true, "zz_alone": true])
            let audit = try await api.get("/api/audit?personaId=\(id)&type=tool.updated", token: admin)
            #expect(audit.data?[0]?["metadata"]?["dependenciesEnabled"] == ["zz_branch", "zz_leaf"])

            let refused = try await api.patch("/api/personas/\(id)/tools/zz_leaf", token: admin, json: ["enabled": false])
            #expect(refused.status == .conflict)
            #expect(refused.json?["code"] == "tool_required")
            #expect(refused.json?["error"]?.stringValue?.contains("zz_branch") == true)
            #expect(try await enabled()["zz_leaf"] == true)

            // A dependency the persona's container does not have cannot be switched on with it.
            try await Self.register(services, [Self.manifest("zz_elsewhere"), Self.manifest("zz_needs_elsewhere", dependsOn: ["zz_elsewhere"])],
                                   source: .image)
            try await services.database.transaction {
                try await services.tools.syncPersona(personaId: id, manifests: manifests + [Self.manifest("zz_needs_elsewhere", dependsOn: ["zz_elsewhere"])],
                                                     now: Date(), on: $0)
            }
            #expect(try await api.patch("/api/personas/\(id)/tools/zz_needs_elsewhere", token: admin, json: ["enabled": false]).status == .ok)
            let unavailable = try await api.patch("/api/personas/\(id)/tools/zz_needs_elsewhere", token: admin, json: ["enabled": true])
            #expect(unavailable.status == .conflict)
            #expect(unavailable.json?["code"] == "dependency_unavailable")
            #expect(unavailable.json?["error"]?.stringValue?.contains("zz_elsewhere") == true)

            // The detail names the caller's personas only.
            let detail = try await api.get("/api/tools/zz_root", token: admin)
            #expect(detail.data?["personas"]?.arrayValue?.compactMap { $0["personaId"]?.stringValue } == [id])
            #expect(try await api.get("/api/tools/zz_root", token: other.token).data?["personas"] == [])
        }
    }
}
