import Connectors
import ControlPlane
import Foundation
import PersonaKit
import SQLKit
import Testing
import TestSupport

/// The email trigger against the real dovecot: one run per new matching message, IDLE or
/// polling, mark seen or move, back-off on a failing server, a UIDVALIDITY change.
@Suite("Email triggers")
struct EmailTriggerTests {
    /// A test app with quick trigger timings whose runs answer through a scripted LLM (each run
    /// replies "Noted." and ends).
    static func withApp(_ backend: TestBackend = .sqlite, runs: Int, configure: @escaping @Sendable (inout AppConfiguration) -> Void = { _ in },
                        _ body: @Sendable (APIClient, AppComponents) async throws -> Void) async throws {
        let llm = ScriptedLLM(Array(repeating: .text("Noted.", pieces: 1), count: runs))
        try await llm.serve { url in
            try await TestApp.run(backend, configure: { c in
                c.litellmProxyURL = url
                c.llmTimeoutSeconds = 5
                c.runWorker.pollInterval = .milliseconds(50)
                c.connectors.trigger.backoffBase = .milliseconds(200)
                c.connectors.trigger.backoffMax = .seconds(1)
                c.connectors.trigger.rescanInterval = .seconds(1)
                c.connectors.trigger.idleRenewal = .seconds(1)
                configure(&c)
            }, body)
        }
    }

    /// A persona with an agent and an email connector for `user` whose trigger is `trigger`
    /// (the agent's id is filled in); returns (persona, agent, connector) ids.
    static func setUp(_ api: APIClient, _ admin: String, mail: TestMail, user: String, trigger: [String: JSONValue],
                      password: String? = nil) async throws -> (persona: String, agent: String, connector: String) {
        let persona = try #require(try await api.post("/api/personas", token: admin, json: ["name": "Inbox watcher"]).data?["id"]?.stringValue)
        let agent = try #require(try await api.post("/api/personas/\(persona)/agents", token: admin,
                                                    json: ["name": "Mail agent", "model": "scripted"]).data?["id"]?.stringValue)
        var triggerBody = trigger
        triggerBody["agentId"] = .string(agent)
        let created = try await api.post("/api/personas/\(persona)/connectors", token: admin, json: [
            "kind": "email", "name": "Inbox",
            "imap": ["host": .string(mail.host), "port": 993, "security": "tls", "username": .string(user),
                     "password": .string(password ?? mail.password)],
            "smtp": ["host": .string(mail.host), "port": 587, "security": "starttls"],
            "caCertificate": .string(mail.caPEM), "trigger": .object(triggerBody),
        ])
        #expect(created.status == .created, "\(created.body)")
        return (persona, agent, try #require(created.data?["id"]?.stringValue))
    }

    static func triggerState(_ api: APIClient, _ admin: String, _ persona: String, _ connector: String) async throws -> JSONValue? {
        try await api.get("/api/personas/\(persona)/connectors/\(connector)", token: admin).data
    }

    static func runs(_ api: APIClient, _ admin: String, _ persona: String) async throws -> [JSONValue] {
        try await api.get("/api/runs?personaId=\(persona)&limit=100", token: admin).data?.arrayValue ?? []
    }

    @Test("IDLE: one run per new matching message with the message as input, marked seen; old and non-matching mail starts nothing",
          arguments: TestBackend.allCases)
    func idleTrigger(backend: TestBackend) async throws {
        let mail = try TestMail()
        let user = mail.address("idle")
        try await mail.deliver(to: user, subject: "order 0 (before the trigger)")
        try await Self.withApp(backend, runs: 3) { api, _ in
            let admin = try await api.login().access
            let (persona, agent, connector) = try await Self.setUp(api, admin, mail: mail, user: user,
                                                                   trigger: ["filter": ["subjectContains": "order"]])
            #expect(await ContainerTests.eventually(20) {
                (try? await Self.triggerState(api, admin, persona, connector))?["triggerStatus"]?["state"] == "idle"
            })
            for n in 1...3 { try await mail.deliver(to: user, subject: "order \(n)", body: "Please send \(n) boxes.") }
            try await mail.deliver(to: user, subject: "newsletter")
            #expect(await ContainerTests.eventually(20) { (try? await Self.runs(api, admin, persona))?.count == 3 })
            try await Task.sleep(for: .seconds(1))
            let runs = try await Self.runs(api, admin, persona)
            #expect(runs.count == 3, "\(runs)")
            let inputs = runs.compactMap { $0["input"]?.stringValue }
            for n in 1...3 {
                #expect(inputs.filter { $0.contains("Subject: order \(n)\n") && $0.contains("Please send \(n) boxes.") }.count == 1, "\(inputs)")
            }
            #expect(runs.allSatisfy { $0["agentId"]?.stringValue == agent })
            #expect(await ContainerTests.eventually(20) {
                (try? await Self.runs(api, admin, persona))?.allSatisfy { $0["status"] == "completed" } == true
            })
            #expect(inputs.allSatisfy { $0.contains("From: Grace <grace@example.org>") && $0.contains("folder INBOX") })
            // The three are seen now; the newsletter and the old order are not.
            let unseen = try await mail.withMailbox(user) { client in
                _ = try await client.select("INBOX")
                let uids = try await client.uidSearch([.unseen])
                return try await client.uidFetchSummaries(uids).map { MailMessage(parsing: $0.header).subject ?? "" }
            }
            #expect(Set(unseen) == ["order 0 (before the trigger)", "newsletter"], "\(unseen)")
            let state = try await Self.triggerState(api, admin, persona, connector)
            #expect(state?["status"]?["state"] == "ok" && state?["triggerStatus"]?["failures"] == 0, "\(state ?? .null)")
            let audit = try await api.get("/api/audit?personaId=\(persona)&type=run.created", token: admin)
            #expect(audit.data?.arrayValue?.filter { $0["metadata"]?["connectorId"]?.stringValue == connector }.count == 3)
        }
    }

    @Test("polling with the move action: each message moves to the archive folder after its run is queued")
    func pollingMove() async throws {
        let mail = try TestMail()
        let user = mail.address("poll")
        try await Self.withApp(runs: 2, configure: {
            $0.connectors.trigger.mode = .poll
            $0.connectors.trigger.pollInterval = .milliseconds(300)
        }) { api, _ in
            let admin = try await api.login().access
            let (persona, _, connector) = try await Self.setUp(api, admin, mail: mail, user: user,
                                                               trigger: ["action": "move", "moveTo": "Processed"])
            #expect(await ContainerTests.eventually(20) {
                (try? await Self.triggerState(api, admin, persona, connector))?["triggerStatus"]?["state"] == "polling"
            })
            for n in 1...2 { try await mail.deliver(to: user, subject: "ticket \(n)") }
            #expect(await ContainerTests.eventually(20) { (try? await Self.runs(api, admin, persona))?.count == 2 })
            let (inbox, processed) = try await mail.withMailbox(user) { client in
                let inbox = try await client.select("INBOX").exists
                let processed = try await client.select("Processed").exists
                return (inbox, processed)
            }
            #expect(inbox == 0 && processed == 2)
        }
    }

    @Test("a wrong password backs off with auth_failed on the connector; a corrected password resumes and starts the waiting run")
    func backoff() async throws {
        let mail = try TestMail()
        let user = mail.address("backoff")
        try await Self.withApp(runs: 1) { api, _ in
            let admin = try await api.login().access
            let (persona, _, connector) = try await Self.setUp(api, admin, mail: mail, user: user, trigger: [:], password: "wrong-password")
            // Seen in one reading (between two attempts the loop is `starting` again).
            var state: JSONValue?
            #expect(await ContainerTests.eventually(20) {
                state = try? await Self.triggerState(api, admin, persona, connector)
                return state?["triggerStatus"]?["state"] == "backoff" && (state?["triggerStatus"]?["failures"]?.intValue ?? 0) >= 2
            })
            #expect(state?["status"]?["state"] == "auth_failed", "\(state ?? .null)")
            #expect(state?["triggerStatus"]?["retryAt"] != nil, "\(state ?? .null)")
            #expect(!(state.map { "\($0)" } ?? "").contains(mail.password))
            let fixed = try await api.patch("/api/personas/\(persona)/connectors/\(connector)", token: admin,
                                            json: ["imap": ["password": .string(mail.password)]])
            #expect(fixed.status == .ok)
            #expect(await ContainerTests.eventually(20) {
                (try? await Self.triggerState(api, admin, persona, connector))?["triggerStatus"]?["state"] == "idle"
            })
            try await mail.deliver(to: user, subject: "after the fix")
            #expect(await ContainerTests.eventually(20) { (try? await Self.runs(api, admin, persona))?.count == 1 })
        }
    }

    @Test("a UIDVALIDITY change (the folder made again) starts runs for new mail and none again for mail that already had one")
    func uidValidityChange() async throws {
        let mail = try TestMail()
        let user = mail.address("validity")
        try await mail.withMailbox(user) { try await $0.createFolder("Work") }
        try await Self.withApp(runs: 2) { api, services in
            let admin = try await api.login().access
            let (persona, _, connector) = try await Self.setUp(api, admin, mail: mail, user: user, trigger: ["folder": "Work"])
            #expect(await ContainerTests.eventually(20) {
                (try? await Self.triggerState(api, admin, persona, connector))?["triggerStatus"]?["state"] == "idle"
            })
            let first = TestMail.message(to: user, subject: "first", body: "one", messageId: "<first-\(UUID())@example.org>")
            _ = try await mail.withMailbox(user) { try await $0.append(first, to: "Work") }
            #expect(await ContainerTests.eventually(20) { (try? await Self.runs(api, admin, persona))?.count == 1 })
            let before = try await services.database.withConnection { db in
                try await db.select().column("trigger_uid_validity").from("persona_connectors").where("id", .equal, connector).first()?
                    .decode(column: "trigger_uid_validity", as: Int64?.self)
            }
            // The folder is deleted and made again: a new UIDVALIDITY, the old message back (unseen) and a new one.
            try await mail.withMailbox(user) { client in
                _ = try await client.select("INBOX")
                try await client.deleteFolder("Work")
            }
            // Made again from a new session (dovecot refuses an APPEND from the one that deleted it
            // while another session still had it selected).
            try await mail.withMailbox(user) { client in
                try await client.createFolder("Work")
                // Dovecot may still answer "Mailbox was deleted under us" for a moment.
                for attempt in 1...5 {
                    do {
                        _ = try await client.append(first, to: "Work")
                        break
                    } catch let error as MailError where error.code == .serverError && attempt < 5 {
                        try await Task.sleep(for: .milliseconds(200))
                    }
                }
                _ = try await client.append(TestMail.message(to: user, subject: "second", body: "two"), to: "Work")
            }
            #expect(await ContainerTests.eventually(30) { (try? await Self.runs(api, admin, persona))?.count == 2 })
            try await Task.sleep(for: .seconds(1))
            let runs = try await Self.runs(api, admin, persona)
            #expect(runs.count == 2)
            #expect(runs.filter { $0["input"]?.stringValue?.contains("Subject: second") == true }.count == 1)
            let after = try await services.database.withConnection { db in
                try await db.select().column("trigger_uid_validity").from("persona_connectors").where("id", .equal, connector).first()?
                    .decode(column: "trigger_uid_validity", as: Int64?.self)
            }
            #expect(before != nil && after != nil && before != after)
        }
    }
}
