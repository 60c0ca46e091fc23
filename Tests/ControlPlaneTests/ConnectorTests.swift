import ControlPlane
import Foundation
import PersonaKit
import SQLKit
import Testing
import TestSupport

/// The connectors API without a mail server: what is stored, shown, refused and audited.
/// (ConnectorMailTests talks to the real postfix and dovecot.)
@Suite("Connectors API")
struct ConnectorTests {
    static let imapPassword = "imap-pass-Zq81!x"
    static let smtpPassword = "smtp-pass-Lw55#k"

    static func emailBody(name: String = "Work mail", extra: [String: JSONValue] = [:]) -> JSONValue {
        var body: [String: JSONValue] = [
            "kind": "email", "name": .string(name),
            "imap": ["host": "mail.example.com", "username": "ada@example.com", "password": .string(imapPassword)],
            "smtp": ["host": "smtp.example.com", "password": .string(smtpPassword)],
        ]
        for (key, value) in extra { body[key] = value }
        return .object(body)
    }

    @Test("create, list, get, patch and delete an email connector: defaults, sealed passwords never returned, every change audited",
          arguments: TestBackend.allCases)
    func lifecycle(backend: TestBackend) async throws {
        try await TestApp.run(backend) { api, services in
            let admin = try await api.login().access
            let id = try #require(try await api.post("/api/personas", token: admin, json: ["name": "Mailer"]).data?["id"]?.stringValue)
            let created = try await api.post("/api/personas/\(id)/connectors", token: admin, json: Self.emailBody())
            #expect(created.status == .created, "\(created.body)")
            let connectorId = try #require(created.data?["id"]?.stringValue)
            let data = try #require(created.data)
            // Defaults: IMAPS on 993, submission with STARTTLS on 587, SMTP login from IMAP, sender from the username.
            #expect(data["imap"]?["port"] == 993 && data["imap"]?["security"] == "tls")
            #expect(data["smtp"]?["port"] == 587 && data["smtp"]?["security"] == "starttls")
            #expect(data["smtp"]?["username"] == "ada@example.com")
            #expect(data["imap"]?["passwordSet"] == true)
            #expect(data["fromAddress"] == "ada@example.com" && data["fromName"] == "Persona Platform")
            #expect(data["folders"]?["inbox"] == "INBOX" && data["folders"]?["sent"] == "Sent")
            #expect(data["status"]?["state"] == "unknown")
            #expect(data["readOnly"] == false && data["enabled"] == true)
            #expect(!created.body.contains(Self.imapPassword) && !created.body.contains(Self.smtpPassword))

            // The list has the email connector and the runtime's browser and desktop views.
            let list = try await api.get("/api/personas/\(id)/connectors", token: admin)
            let kinds = list.data?.arrayValue?.compactMap { $0["kind"]?.stringValue } ?? []
            #expect(kinds == ["email", "browser", "desktop"], "\(list.body)")
            let browser = list.data?.arrayValue?.first { $0["id"] == "browser" }
            #expect(browser?["readOnly"] == true && browser?["status"]?["state"] == "unavailable")
            #expect(!list.body.contains(Self.imapPassword))

            // PATCH: a new IMAP password (write-only), a changed port, folders; only what changed is named in the audit.
            let patched = try await api.patch("/api/personas/\(id)/connectors/\(connectorId)", token: admin, json: [
                "imap": ["password": "new-imap-Pw9", "security": "starttls"], "folders": ["archive": "Archive/2026"], "fromName": "Ada's assistant",
            ])
            #expect(patched.status == .ok, "\(patched.body)")
            #expect(patched.data?["imap"]?["port"] == 143 && patched.data?["imap"]?["security"] == "starttls")
            #expect(patched.data?["folders"]?["archive"] == "Archive/2026" && patched.data?["folders"]?["inbox"] == "INBOX")
            #expect(patched.data?["fromName"] == "Ada's assistant")
            #expect(!patched.body.contains("new-imap-Pw9"))

            // At rest: the credentials are one sealed value; neither password is readable in any column.
            let row = try await services.database.withConnection { db in
                try await db.select().columns("config", "credentials").from("persona_connectors").where("id", .equal, connectorId).first()
            }
            let config = try #require(row).decode(column: "config", as: String.self)
            let sealed = try #require(row).decode(column: "credentials", as: String.self)
            for secret in [Self.imapPassword, Self.smtpPassword, "new-imap-Pw9"] {
                #expect(!config.contains(secret) && !sealed.contains(secret))
            }
            let opened = try services.openSecret(sealed, personaId: id, name: "connector/\(connectorId)")
            #expect(opened.contains("new-imap-Pw9") && opened.contains(Self.smtpPassword))

            #expect(try await api.get("/api/personas/\(id)/connectors/\(connectorId)", token: admin).data?["name"] == "Work mail")
            #expect(try await api.delete("/api/personas/\(id)/connectors/\(connectorId)", token: admin).status == .noContent)
            #expect(try await api.get("/api/personas/\(id)/connectors/\(connectorId)", token: admin).status == .notFound)
            #expect(try await api.delete("/api/personas/\(id)/connectors/\(connectorId)", token: admin).status == .notFound)

            let audit = try await api.get("/api/audit?personaId=\(id)&limit=100", token: admin)
            let types = audit.data?.arrayValue?.compactMap { $0["eventType"]?.stringValue } ?? []
            #expect(types.contains("connector.created") && types.contains("connector.updated") && types.contains("connector.deleted"))
            let update = audit.data?.arrayValue?.first { $0["eventType"] == "connector.updated" }
            #expect(update?["metadata"]?["changed"] == ["folders", "from", "imap", "imap.password"], "\(update ?? .null)")
            for secret in [Self.imapPassword, Self.smtpPassword, "new-imap-Pw9"] { #expect(!audit.body.contains(secret)) }
        }
    }

    @Test("viewers read the non-secret fields, editors manage, strangers get 404; the runtime views are read-only",
          arguments: TestBackend.allCases)
    func permissions(backend: TestBackend) async throws {
        try await TestApp.run(backend) { api, _ in
            let admin = try await api.login().access
            let viewer = try await api.makeUser("viewer@example.com", adminToken: admin)
            let editor = try await api.makeUser("editor@example.com", adminToken: admin)
            let stranger = try await api.makeUser("stranger@example.com", adminToken: admin)
            let id = try #require(try await api.post("/api/personas", token: admin, json: ["name": "Shared"]).data?["id"]?.stringValue)
            #expect(try await api.post("/api/personas/\(id)/members", token: admin, json: ["userId": .string(viewer.id), "role": "viewer"]).status == .created)
            #expect(try await api.post("/api/personas/\(id)/members", token: admin, json: ["userId": .string(editor.id), "role": "editor"]).status == .created)

            let created = try await api.post("/api/personas/\(id)/connectors", token: editor.token, json: Self.emailBody())
            #expect(created.status == .created)
            let connectorId = try #require(created.data?["id"]?.stringValue)
            let path = "/api/personas/\(id)/connectors/\(connectorId)"

            let read = try await api.get(path, token: viewer.token)
            #expect(read.status == .ok && read.data?["imap"]?["host"] == "mail.example.com")
            #expect(!read.body.contains(Self.imapPassword))
            #expect(try await api.post("/api/personas/\(id)/connectors", token: viewer.token, json: Self.emailBody(name: "Other")).status == .forbidden)
            #expect(try await api.patch(path, token: viewer.token, json: ["enabled": false]).status == .forbidden)
            #expect(try await api.delete(path, token: viewer.token).status == .forbidden)
            #expect(try await api.post(path + "/test", token: viewer.token).status == .forbidden)

            for response in [try await api.get("/api/personas/\(id)/connectors", token: stranger.token),
                             try await api.get(path, token: stranger.token),
                             try await api.patch(path, token: stranger.token, json: ["enabled": false]),
                             try await api.delete(path, token: stranger.token)] {
                #expect(response.status == .notFound)
            }

            // The browser and desktop are views: readable, never changed through this route.
            #expect(try await api.get("/api/personas/\(id)/connectors/desktop", token: viewer.token).data?["kind"] == "desktop")
            let patchView = try await api.patch("/api/personas/\(id)/connectors/browser", token: editor.token, json: ["enabled": false])
            #expect(patchView.status == .conflict && patchView.code == "read_only")
            #expect(try await api.delete("/api/personas/\(id)/connectors/desktop", token: editor.token).code == "read_only")
            let createView = try await api.post("/api/personas/\(id)/connectors", token: editor.token, json: ["kind": "browser", "name": "B"])
            #expect(createView.code == "read_only")
            // The desktop image makes them available.
            #expect(try await api.put("/api/personas/\(id)/runtime", token: editor.token, json: ["image": "desktop"]).status == .ok)
            let desktop = try await api.get("/api/personas/\(id)/connectors/desktop", token: viewer.token)
            #expect(desktop.data?["enabled"] == true && desktop.data?["status"]?["state"] == "stopped", "\(desktop.body)")
            #expect(desktop.data?["runtime"]?["image"] == "desktop")
        }
    }

    @Test("bad input is refused with a clear error and nothing is stored", arguments: TestBackend.allCases)
    func validation(backend: TestBackend) async throws {
        try await TestApp.run(backend) { api, services in
            let admin = try await api.login().access
            let id = try #require(try await api.post("/api/personas", token: admin, json: ["name": "V"]).data?["id"]?.stringValue)
            let other = try #require(try await api.post("/api/personas", token: admin, json: ["name": "Other"]).data?["id"]?.stringValue)
            let otherAgent = try #require(try await api.post("/api/personas/\(other)/agents", token: admin,
                                                             json: ["name": "A", "model": "m"]).data?["id"]?.stringValue)
            let path = "/api/personas/\(id)/connectors"
            let cases: [(JSONValue, String, String)] = [
                (["kind": "fax", "name": "x"], "validation_failed", "kind"),
                (["kind": "email", "name": "x"], "validation_failed", "imap"),
                (["kind": "email", "name": "x", "imap": ["host": "h.example", "username": "u"]], "validation_failed", "imap.password"),
                (Self.emailBody(extra: ["imap": ["host": "bad host", "username": "u", "password": "p"]]), "validation_failed", "imap.host"),
                (Self.emailBody(extra: ["imap": ["host": "h.example", "username": "u", "password": "p", "port": 70000]]), "validation_failed", "port"),
                (Self.emailBody(extra: ["imap": ["host": "h.example", "username": "u", "password": "p", "security": "ssl"]]), "validation_failed", "security"),
                (Self.emailBody(extra: ["imap": ["host": "h.example", "username": "u", "password": "p", "colour": "red"]]), "validation_failed", "imap.colour"),
                (Self.emailBody(extra: ["imap": ["host": "h.example", "username": "not-an-address", "password": "p"]]), "validation_failed", "fromAddress"),
                (Self.emailBody(extra: ["fromAddress": "nobody"]), "validation_failed", "fromAddress"),
                (Self.emailBody(extra: ["caCertificate": "not a pem"]), "validation_failed", "caCertificate"),
                (Self.emailBody(extra: ["folders": ["inbox": "In\"box"]]), "validation_failed", "folders.inbox"),
                (Self.emailBody(extra: ["trigger": ["agentId": .string(otherAgent)]]), "unprocessable", "agentId"),
                (Self.emailBody(extra: ["trigger": ["agentId": .string(otherAgent), "action": "delete"]]), "unprocessable", "agentId"),
                (Self.emailBody(extra: ["name": ""]), "validation_failed", "name"),
            ]
            for (body, code, word) in cases {
                let response = try await api.post(path, token: admin, json: body)
                #expect(response.code == code, "\(body) -> \(response.body)")
                #expect(response.json?["error"]?.stringValue?.contains(word) == true, "\(body) -> \(response.body)")
                #expect(response.json?["traceId"]?.stringValue?.count == 32)
            }
            let count = try await services.database.withConnection { db in
                try await db.select().column(SQLFunction("COUNT", args: SQLLiteral.all), as: "n").from("persona_connectors").first()?
                    .decode(column: "n", as: Int.self)
            }
            #expect(count == 0)
            // Names are unique per persona.
            #expect(try await api.post(path, token: admin, json: Self.emailBody()).status == .created)
            #expect(try await api.post(path, token: admin, json: Self.emailBody()).code == "conflict")
            // A trigger needs an agent of this persona; a move needs a folder other than the watched one.
            let agent = try #require(try await api.post("/api/personas/\(id)/agents", token: admin,
                                                        json: ["name": "Mail agent", "model": "m"]).data?["id"]?.stringValue)
            let bad = try await api.post(path, token: admin, json: Self.emailBody(name: "T", extra: [
                "trigger": ["agentId": .string(agent), "action": "move", "moveTo": "INBOX"]]))
            #expect(bad.code == "validation_failed" && bad.json?["error"]?.stringValue?.contains("moveTo") == true, "\(bad.body)")
            let good = try await api.post(path, token: admin, json: Self.emailBody(name: "T", extra: [
                "trigger": ["agentId": .string(agent), "action": "move", "filter": ["subjectContains": "invoice"]]]))
            #expect(good.status == .created, "\(good.body)")
            #expect(good.data?["trigger"]?["moveTo"] == "Archive" && good.data?["trigger"]?["filter"]?["unseenOnly"] == true)
            #expect(good.data?["triggerStatus"]?["state"] != nil)
            // PATCH trigger null removes it.
            let goodId = try #require(good.data?["id"]?.stringValue)
            let cleared = try await api.patch("\(path)/\(goodId)", token: admin, json: ["trigger": .null])
            #expect(cleared.status == .ok && cleared.data?["trigger"] == nil && cleared.data?["triggerStatus"] == nil, "\(cleared.body)")
        }
    }
}
