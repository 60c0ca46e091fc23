@testable import ControlPlane
import Foundation
import PersonaKit
import Testing
import TestSupport

@Suite("Personas and members")
struct PersonaTests {
    @Test("create, get, list, patch and delete a persona", arguments: TestBackend.allCases)
    func crud(backend: TestBackend) async throws {
        try await TestApp.run(backend) { api, _ in
            let admin = try await api.login().access
            let owner = try await api.makeUser("olga@example.com", adminToken: admin)
            let created = try await api.post("/api/personas", token: owner.token, json: [
                "name": "Research assistant", "description": "Reads papers", "theme": ["primary": "#7E5DFF"],
            ])
            #expect(created.status == .created)
            #expect(created.data?["ownerId"]?.stringValue == owner.id)
            #expect(created.data?["isActive"] == true)
            #expect(created.data?["role"] == "owner")
            let id = try #require(created.data?["id"]?.stringValue)
            #expect(try await api.get("/api/personas/\(id)", token: owner.token).data?["name"] == "Research assistant")
            let patched = try await api.patch("/api/personas/\(id)", token: owner.token,
                                              json: ["description": nil, "systemPrompt": "Be brief.", "isActive": false])
            #expect(patched.status == .ok)
            #expect(patched.data?["description"] == nil || patched.data?["description"] == .null)
            #expect(patched.data?["systemPrompt"] == "Be brief.")
            #expect(patched.data?["isActive"] == false)
            #expect(patched.data?["theme"]?["primary"] == "#7E5DFF")
            let list = try await api.get("/api/personas", token: owner.token)
            #expect(list.data?.arrayValue?.map { $0["id"] } == [.string(id)])
            #expect(try await api.delete("/api/personas/\(id)", token: owner.token).status == .noContent)
            #expect(try await api.get("/api/personas/\(id)", token: owner.token).status == .notFound)
        }
    }

    @Test("a persona is invisible (404, not 403) to users who are not members", arguments: TestBackend.allCases)
    func invisibleToStrangers(backend: TestBackend) async throws {
        try await TestApp.run(backend) { api, _ in
            let admin = try await api.login().access
            let owner = try await api.makeUser("owner@example.com", adminToken: admin)
            let stranger = try await api.makeUser("stranger@example.com", adminToken: admin)
            let id = try #require(try await api.post("/api/personas", token: owner.token, json: ["name": "Private"]).data?["id"]?.stringValue)
            for response in [
                try await api.get("/api/personas/\(id)", token: stranger.token),
                try await api.patch("/api/personas/\(id)", token: stranger.token, json: ["name": "Mine now"]),
                try await api.delete("/api/personas/\(id)", token: stranger.token),
                try await api.get("/api/personas/\(id)/members", token: stranger.token),
                try await api.get("/api/personas/\(id)/secrets", token: stranger.token),
                try await api.put("/api/personas/\(id)/secrets/TOKEN", token: stranger.token, json: ["value": "x"]),
            ] {
                #expect(response.status == .notFound)
                #expect(response.code == "not_found")
            }
            #expect(try await api.get("/api/personas", token: stranger.token).data?.arrayValue?.isEmpty == true)
            // Admins see everything, with owner rights.
            #expect(try await api.get("/api/personas/\(id)", token: admin).data?["role"] == "owner")
        }
    }

    @Test("viewer reads, editor changes config, only the owner deletes or manages members", arguments: TestBackend.allCases)
    func memberRoles(backend: TestBackend) async throws {
        try await TestApp.run(backend) { api, _ in
            let admin = try await api.login().access
            let owner = try await api.makeUser("o@example.com", adminToken: admin)
            let viewer = try await api.makeUser("v@example.com", adminToken: admin)
            let editor = try await api.makeUser("e@example.com", adminToken: admin)
            let id = try #require(try await api.post("/api/personas", token: owner.token, json: ["name": "Shared"]).data?["id"]?.stringValue)
            let added = try await api.post("/api/personas/\(id)/members", token: owner.token, json: ["email": "v@example.com", "role": "viewer"])
            #expect(added.status == .created)
            #expect(added.data?["role"] == "viewer")
            #expect(try await api.post("/api/personas/\(id)/members", token: owner.token,
                                       json: ["userId": .string(editor.id), "role": "editor"]).status == .created)
            #expect(try await api.get("/api/personas/\(id)", token: viewer.token).data?["role"] == "viewer")
            #expect(try await api.patch("/api/personas/\(id)", token: viewer.token, json: ["name": "x"]).status == .forbidden)
            #expect(try await api.patch("/api/personas/\(id)", token: editor.token, json: ["name": "Renamed"]).status == .ok)
            #expect(try await api.delete("/api/personas/\(id)", token: editor.token).status == .forbidden)
            #expect(try await api.post("/api/personas/\(id)/members", token: editor.token,
                                       json: ["userId": .string(viewer.id), "role": "owner"]).status == .forbidden)
            let members = try await api.get("/api/personas/\(id)/members", token: viewer.token)
            #expect(Set(members.data?.arrayValue?.compactMap { $0["email"]?.stringValue } ?? []) == ["v@example.com", "e@example.com"])
            // Promote the viewer (role change answers 200), then remove the editor.
            let promoted = try await api.post("/api/personas/\(id)/members", token: owner.token,
                                              json: ["userId": .string(viewer.id), "role": "editor"])
            #expect(promoted.status == .ok)
            #expect(try await api.delete("/api/personas/\(id)/members/\(editor.id)", token: owner.token).status == .noContent)
            #expect(try await api.get("/api/personas/\(id)", token: editor.token).status == .notFound)
            // A member may leave on their own.
            #expect(try await api.delete("/api/personas/\(id)/members/\(viewer.id)", token: viewer.token).status == .noContent)
            #expect(try await api.get("/api/personas/\(id)", token: viewer.token).status == .notFound)
        }
    }

    @Test("bad member requests get clear errors", arguments: TestBackend.allCases)
    func badMembers(backend: TestBackend) async throws {
        try await TestApp.run(backend) { api, _ in
            let admin = try await api.login().access
            let owner = try await api.makeUser("o2@example.com", adminToken: admin)
            let id = try #require(try await api.post("/api/personas", token: owner.token, json: ["name": "P"]).data?["id"]?.stringValue)
            #expect(try await api.post("/api/personas/\(id)/members", token: owner.token, json: ["email": "ghost@example.com", "role": "viewer"]).status == .unprocessableContent)
            #expect(try await api.post("/api/personas/\(id)/members", token: owner.token, json: ["email": "o2@example.com", "role": "viewer"]).status == .conflict)
            #expect(try await api.post("/api/personas/\(id)/members", token: owner.token, json: ["email": "o2@example.com", "role": "king"]).status == .badRequest)
            #expect(try await api.post("/api/personas/\(id)/members", token: owner.token, json: ["role": "viewer"]).status == .badRequest)
            #expect(try await api.delete("/api/personas/\(id)/members/\(Identifier.make())", token: owner.token).status == .notFound)
        }
    }

    @Test("the persona list pages with a cursor and shows each persona once", arguments: TestBackend.allCases)
    func paging(backend: TestBackend) async throws {
        try await TestApp.run(backend) { api, _ in
            let admin = try await api.login().access
            var created: [String] = []
            for i in 0..<7 {
                created.append(try #require(try await api.post("/api/personas", token: admin, json: ["name": .string("P\(i)")]).data?["id"]?.stringValue))
            }
            var seen: [String] = []
            var cursor: String?
            repeat {
                let page = try await api.get("/api/personas?limit=3" + (cursor.map { "&cursor=\($0)" } ?? ""), token: admin)
                #expect(page.status == .ok)
                let ids = page.data?.arrayValue?.compactMap { $0["id"]?.stringValue } ?? []
                #expect(ids.count <= 3)
                seen += ids
                cursor = page.json?["nextCursor"]?.stringValue
            } while cursor != nil && seen.count <= created.count  // a cursor that repeats pages fails here, not hangs
            #expect(seen == created.reversed())
            #expect(try await api.get("/api/personas?limit=0", token: admin).status == .badRequest)
            #expect(try await api.get("/api/personas?limit=abc", token: admin).status == .badRequest)
            #expect(try await api.get("/api/personas?cursor=zzz", token: admin).status == .badRequest)
        }
    }

    @Test("every page of the list shows each visible persona as GET shows it, with the caller's role", arguments: TestBackend.allCases)
    func listMatchesGet(backend: TestBackend) async throws {
        try await TestApp.run(backend) { api, _ in
            let admin = try await api.login().access
            let owner = try await api.makeUser("lo@example.com", adminToken: admin)
            let member = try await api.makeUser("lm@example.com", adminToken: admin)
            let stranger = try await api.makeUser("ls@example.com", adminToken: admin)
            var ids: [String] = []
            let bodies: [[String: JSONValue]] = [
                ["name": "Plain"],
                ["name": "Quote \" backslash \\ newline \n tab \t é 漢 \u{01}", "description": "Reads papers",
                 "systemPrompt": "Be brief.", "theme": ["primary": "#7E5DFF", "nested": ["n": 3, "off": false]]],
                ["name": "Shared as viewer", "description": ""],
                ["name": "Shared as editor"],
                ["name": "Owner only"],
            ]
            for (i, body) in bodies.enumerated() {
                let token = i == 0 ? admin : owner.token
                ids.append(try #require(try await api.post("/api/personas", token: token, json: .object(body)).data?["id"]?.stringValue))
            }
            #expect(try await api.post("/api/personas/\(ids[2])/members", token: owner.token, json: ["userId": .string(member.id), "role": "viewer"]).status == .created)
            #expect(try await api.post("/api/personas/\(ids[3])/members", token: owner.token, json: ["userId": .string(member.id), "role": "editor"]).status == .created)
            #expect(try await api.post("/api/personas/\(ids[1])/members", token: owner.token, json: ["userId": .string(member.id), "role": "viewer"]).status == .created)
            #expect(try await api.patch("/api/personas/\(ids[4])", token: owner.token, json: ["isActive": false]).status == .ok)
            for (token, expected) in [(admin, Array(ids.reversed())), (owner.token, Array(ids.dropFirst().reversed())),
                                      (member.token, [ids[3], ids[2], ids[1]]), (stranger.token, [])] {
                var listed: [JSONValue] = []
                var cursor: String?
                repeat {
                    let page = try await api.get("/api/personas?limit=2" + (cursor.map { "&cursor=\($0)" } ?? ""), token: token)
                    #expect(page.status == .ok)
                    listed += page.data?.arrayValue ?? []
                    cursor = page.json?["nextCursor"]?.stringValue
                } while cursor != nil && listed.count <= ids.count  // a cursor that repeats pages fails here, not hangs
                #expect(listed.compactMap { $0["id"]?.stringValue } == expected)
                for item in listed {
                    let id = try #require(item["id"]?.stringValue)
                    #expect(try await api.get("/api/personas/\(id)", token: token).data == item)
                }
            }
            let memberView = try await api.get("/api/personas", token: member.token).data?.arrayValue ?? []
            #expect(memberView.map { $0["role"] } == ["editor", "viewer", "viewer"])
        }
    }

    @Test("concurrent list requests each get their own page; on PostgreSQL they share statements", arguments: TestBackend.allCases)
    func concurrentListsAreBatched(backend: TestBackend) async throws {
        try await TestApp.run(backend) { api, services in
            let admin = try await api.login().access
            let alice = try await api.makeUser("ca@example.com", adminToken: admin)
            let bob = try await api.makeUser("cb@example.com", adminToken: admin)
            let carol = try await api.makeUser("cc@example.com", adminToken: admin)
            var bobs: [String] = []
            for i in 0..<5 {
                #expect(try await api.post("/api/personas", token: alice.token, json: ["name": .string("Alice \(i)")]).status == .created)
                bobs.append(try #require(try await api.post("/api/personas", token: bob.token, json: ["name": .string("Bob \(i)")]).data?["id"]?.stringValue))
            }
            for shared in bobs[1...3] {
                #expect(try await api.post("/api/personas/\(shared)/members", token: bob.token, json: ["userId": .string(carol.id), "role": "viewer"]).status == .created)
            }
            #expect(try await api.post("/api/personas", token: carol.token, json: ["name": "Carol's own"]).status == .created)
            // Each caller's first page, and the page after it, asked one at a time.
            var requests: [(token: String, path: String)] = []
            for token in [admin, alice.token, bob.token, carol.token] {
                let first = try await api.get("/api/personas?limit=3", token: token)
                requests.append((token, "/api/personas?limit=3"))
                if let cursor = first.json?["nextCursor"]?.stringValue { requests.append((token, "/api/personas?limit=4&cursor=\(cursor)")) }
            }
            var expected: [JSONValue?] = []
            for request in requests { expected.append(try await api.get(request.path, token: request.token).json) }
            #expect(expected.compactMap { $0?["data"]?.arrayValue?.count } == [3, 4, 3, 2, 3, 2, 3, 1])
            #expect(expected.last??["data"]?.arrayValue?.first?["id"]?.stringValue == bobs[1])
            // The same requests, many at once, in rounds, until PostgreSQL has answered several with one statement.
            for round in 1...5 {
                try await withThrowingTaskGroup(of: (Int, JSONValue?).self) { group in
                    for _ in 0..<6 {
                        for (index, request) in requests.enumerated() {
                            group.addTask { (index, try await api.get(request.path, token: request.token).json) }
                        }
                    }
                    for try await (index, json) in group {
                        #expect(json == expected[index], "round \(round), request \(requests[index].path)")
                    }
                }
                guard let pages = services.database.personaPages else { break }
                if pages.statistics.first.largestBatch > 1 && pages.statistics.after.largestBatch > 1 { break }
                #expect(round < 5, "no batch held more than one page: \(pages.statistics)")
            }
            #expect((services.database.personaPages == nil) == (backend == .sqlite))
        }
    }

    @Test("settings can forbid users to create personas and cap how many they own", arguments: TestBackend.allCases)
    func settingsEnforced(backend: TestBackend) async throws {
        try await TestApp.run(backend) { api, _ in
            let admin = try await api.login().access
            let user = try await api.makeUser("u@example.com", adminToken: admin)
            #expect(try await api.put("/api/admin/settings", token: admin, json: ["maxPersonasPerUser": 1]).status == .ok)
            #expect(try await api.post("/api/personas", token: user.token, json: ["name": "One"]).status == .created)
            #expect(try await api.post("/api/personas", token: user.token, json: ["name": "Two"]).status == .unprocessableContent)
            #expect(try await api.put("/api/admin/settings", token: admin, json: ["allowUserPersonaCreation": false]).status == .ok)
            #expect(try await api.post("/api/personas", token: user.token, json: ["name": "Three"]).status == .forbidden)
            #expect(try await api.post("/api/personas", token: admin, json: ["name": "Admin's"]).status == .created)
        }
    }
}
