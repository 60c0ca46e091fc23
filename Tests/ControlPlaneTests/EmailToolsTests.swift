import Connectors
import ControlPlane
import DockerEngine
import Foundation
import PersonaKit
import Testing
import TestTraits
import TestSupport
@testable import LLM

/// The email tools in a real persona container against the real postfix and dovecot, with the
/// credentials from a connector (the supervisor's secret channel).
@Suite("Email tools in a persona container", .serialized)
struct EmailToolsTests {
    /// A running persona with an email connector for `user` (made after the container started:
    /// the tools see connectors added later); yields the persona and connector ids.
    static func withMailPersona(_ mail: TestMail, user: String, configure: @escaping @Sendable (inout AppConfiguration) -> Void = { _ in },
                                _ body: @Sendable (APIClient, AppComponents, String, String, String) async throws -> Void) async throws {
        try await TestApp.run(.sqlite, configure: configure) { api, services in
            let admin = try await api.login().access
            let persona = try await ContainerTests.persona(api, admin, name: "Correspondent")
            _ = try await ContainerTests.start(api, admin, persona)
            let created = try await api.post("/api/personas/\(persona)/connectors", token: admin, json: [
                "kind": "email", "name": "work", "fromName": "Ada's assistant",
                "imap": ["host": .string(mail.gateway), "port": 993, "security": "tls", "username": .string(user),
                         "password": .string(mail.password)],
                "smtp": ["host": .string(mail.gateway), "port": 587, "security": "starttls"],
                "caCertificate": .string(mail.caPEM),
            ])
            #expect(created.status == .created, "\(created.body)")
            try await body(api, services, admin, persona, try #require(created.data?["id"]?.stringValue))
        }
    }

    static func tool(_ api: APIClient, _ token: String, _ persona: String, _ name: String, _ arguments: JSONValue) async throws -> JSONValue {
        let response = try await ContainerTests.invoke(api, token, persona, name, ["arguments": arguments])
        #expect(response.status == .ok, "\(name): \(response.body)")
        return try #require(response.data)
    }

    @Test("list, read and send through the real servers from a real container; replies thread; the copy lands in Sent")
    func roundTrip() async throws {
        let mail = try TestMail()
        let user = mail.address("ada")
        let friend = mail.address("grace")
        try await mail.deliver(to: user, subject: "Lunch on Friday?", body: "Shall we meet at noon? — Grace")
        try await Self.withMailPersona(mail, user: user) { api, _, admin, persona, _ in
            let listed = try await Self.tool(api, admin, persona, "email_list", [:])
            #expect(listed["status"] == "succeeded", "\(listed)")
            let messages = listed["output"]?["messages"]?.arrayValue ?? []
            #expect(messages.count == 1 && messages.first?["subject"] == "Lunch on Friday?", "\(listed)")
            let uid = try #require(messages.first?["uid"]?.intValue)

            let read = try await Self.tool(api, admin, persona, "email_read", ["uid": .number(Double(uid))])
            #expect(read["output"]?["text"]?.stringValue?.contains("Shall we meet at noon?") == true, "\(read)")

            _ = try await Self.tool(api, admin, persona, "write_file", ["path": "notes/menu.txt", "content": "Soup, bread."])
            let sent = try await Self.tool(api, admin, persona, "email_send", [
                "to": [.string(friend)], "text": "Noon works. Menu attached.", "replyToUid": .number(Double(uid)),
                "attachments": ["notes/menu.txt"],
            ])
            #expect(sent["status"] == "succeeded", "\(sent)")
            #expect(sent["output"]?["accepted"] == [.string(friend)], "\(sent)")
            #expect(sent["output"]?["savedToSent"] == true)

            // The friend's mailbox has it, threaded and from the connector's sender.
            #expect(await ContainerTests.eventually(15) {
                (try? await mail.withMailbox(friend) { try await $0.select("INBOX").exists }) == 1
            })
            let received = try await mail.withMailbox(friend) { client in
                _ = try await client.select("INBOX")
                let uids = try await client.uidSearch([.all])
                let uid = try #require(uids.first)
                let fetched = try await client.uidFetchMessage(uid)
                return try #require(fetched).raw
            }
            let message = MailMessage(parsing: received)
            #expect(message.subject == "Re: Lunch on Friday?")
            #expect(message.from.first?.address == user && message.from.first?.name == "Ada's assistant", "\(message.from)")
            #expect(!message.inReplyTo.isEmpty)
            #expect(message.attachments.map(\.filename) == ["menu.txt"])
            #expect(message.attachments.first?.data == Array("Soup, bread.".utf8))
            let sentCopies = try await mail.withMailbox(user) { try await $0.select("Sent").exists }
            #expect(sentCopies == 1)
        }
    }

    @Test("credentials never reach responses, the container's Env or labels, its logs or a tool's output; bad ones fail clearly")
    func credentialsAndFailures() async throws {
        let mail = try TestMail()
        let user = mail.address("secret")
        try await Self.withMailPersona(mail, user: user) { api, services, admin, persona, _ in
            let listed = try await Self.tool(api, admin, persona, "email_list", [:])
            #expect(listed["status"] == "succeeded", "\(listed)")
            // A second connector with a wrong password and a third that does not trust the test CA.
            let wrong = "wrong-password-\(UUID().uuidString.prefix(6))"
            for (name, password, ca) in [("bad-login", wrong, true), ("no-ca", mail.password, false)] {
                var body: [String: JSONValue] = [
                    "kind": "email", "name": .string(name),
                    "imap": ["host": .string(mail.gateway), "username": .string(user), "password": .string(password)],
                    "smtp": ["host": .string(mail.gateway)],
                ]
                if ca { body["caCertificate"] = .string(mail.caPEM) }
                #expect(try await api.post("/api/personas/\(persona)/connectors", token: admin, json: .object(body)).status == .created)
            }
            // A failed tool exits non-zero with {error, code} as its output.
            let denied = try await Self.tool(api, admin, persona, "email_list", ["connector": "bad-login"])
            #expect(denied["status"] == "failed" && denied["output"]?["code"] == "auth_failed", "\(denied)")
            let untrusted = try await Self.tool(api, admin, persona, "email_list", ["connector": "no-ca"])
            #expect(untrusted["status"] == "failed" && untrusted["output"]?["code"] == "tls_failed", "\(untrusted)")
            let ambiguous = try await Self.tool(api, admin, persona, "email_list", [:])
            #expect(ambiguous["output"]?["code"] == "connector_required", "\(ambiguous)")
            // Limits answer too_large before anything is sent (EMAIL_MAX_RECIPIENTS is 50).
            let crowd = (1...51).map { JSONValue.string("r\($0)@persona.test") }
            let tooMany = try await Self.tool(api, admin, persona, "email_send", [
                "connector": "work", "to": .array(crowd), "subject": "Hi", "text": "Hello all."])
            #expect(tooMany["status"] == "failed" && tooMany["output"]?["code"] == "too_large", "\(tooMany)")

            // Nowhere: the container's configuration, its logs, the connectors API, the tools' answers.
            let containerId = try #require(try await api.get("/api/personas/\(persona)/container", token: admin).data?["containerId"]?.stringValue)
            let inspect = try await Self.docker(["inspect", containerId])
            let logs = try await Self.docker(["logs", containerId])
            let connectors = try await api.get("/api/personas/\(persona)/connectors", token: admin)
            let audit = try await api.get("/api/audit?personaId=\(persona)&limit=100", token: admin)
            for secret in [mail.password, wrong] {
                #expect(inspect.range(of: secret) == nil, "docker inspect shows a password: \(Self.around(secret, in: inspect))")
                #expect(logs.range(of: secret) == nil, "the container's log shows a password: \(Self.around(secret, in: logs))")
                #expect(!connectors.body.contains(secret) && !audit.body.contains(secret))
                #expect(!"\(listed)\(denied)\(untrusted)".contains(secret))
            }
            // The name is in the image's tool manifests (label), never in the environment.
            let env = try await Self.docker(["inspect", "-f", "{{json .Config.Env}}", containerId])
            #expect(!env.contains("PERSONA_EMAIL_CONNECTORS") && !env.contains("imapPassword"), "\(env)")
            // The control plane's own log file (when one is configured) stays clean too.
            if let file = services.configuration.logFile, let log = try? String(contentsOfFile: file, encoding: .utf8) {
                #expect(!log.contains(mail.password) && !log.contains(wrong))
            }
        }
    }

    @Test("a 10 MB attachment goes out and comes back byte for byte, saved into the workspace")
    func largeAttachment() async throws {
        let mail = try TestMail()
        let user = mail.address("big")
        try await Self.withMailPersona(mail, user: user) { api, _, admin, persona, _ in
            let made = try await Self.tool(api, admin, persona, "shell", [
                "command": "mkdir -p out && head -c 10485760 /dev/urandom > out/data.bin && sha256sum out/data.bin | cut -d' ' -f1"])
            let digest = try #require(made["output"]?["stdout"]?.stringValue?.trimmingCharacters(in: .whitespacesAndNewlines))
            let sent = try await Self.tool(api, admin, persona, "email_send", [
                "to": [.string(user)], "subject": "The data", "text": "Attached.", "attachments": ["out/data.bin"]])
            #expect(sent["status"] == "succeeded", "\(sent)")
            var uid: Int?
            #expect(await ContainerTests.eventually(20) {
                let listed = try? await Self.tool(api, admin, persona, "email_list", ["subjectContains": "The data"])
                uid = listed?["output"]?["messages"]?[0]?["uid"]?.intValue
                return uid != nil
            })
            let read = try await Self.tool(api, admin, persona, "email_read", [
                "uid": .number(Double(try #require(uid))), "saveAttachments": true, "attachmentsDir": "inbox/big"])
            #expect(read["status"] == "succeeded", "\(read)")
            let saved = try #require(read["output"]?["saved"]?[0]?.stringValue)
            let check = try await Self.tool(api, admin, persona, "shell", ["command": .string("sha256sum '\(saved)' | cut -d' ' -f1")])
            #expect(check["output"]?["stdout"]?.stringValue?.trimmingCharacters(in: .whitespacesAndNewlines) == digest)
        }
    }

    @Test("a 5,000-message mailbox pages by UID cursor with no gaps or repeats; malformed MIME and non-UTF-8 headers read without a crash")
    func largeMailbox() async throws {
        let mail = try TestMail()
        let user = mail.address("many")
        try await Self.fill(user: user, count: 5000, malformed: true)
        try await Self.withMailPersona(mail, user: user) { api, _, admin, persona, _ in
            var seen: [Int] = []
            var cursor: Int?
            var total: Int?
            for _ in 0..<30 {
                var arguments: [String: JSONValue] = ["limit": 200]
                if let cursor { arguments["cursor"] = .number(Double(cursor)) }
                let page = try await Self.tool(api, admin, persona, "email_list", .object(arguments))
                #expect(page["status"] == "succeeded", "\(page)")
                total = page["output"]?["total"]?.intValue
                seen += page["output"]?["messages"]?.arrayValue?.compactMap { $0["uid"]?.intValue } ?? []
                cursor = page["output"]?["nextCursor"]?.intValue
                if cursor == nil { break }
            }
            #expect(total == 5008)
            #expect(seen.count == 5008 && Set(seen).count == 5008)
            #expect(seen == seen.sorted(by: >), "newest first")
            // The malformed ones were appended last: the highest UIDs.
            for uid in seen.prefix(8) {
                let read = try await Self.tool(api, admin, persona, "email_read", ["uid": .number(Double(uid))])
                #expect(read["status"] == "succeeded", "uid \(uid): \(read)")
            }
        }
    }

    /// The text around `needle` in `haystack` (for a failure's message).
    static func around(_ needle: String, in haystack: String) -> String {
        guard let range = haystack.range(of: needle) else { return "" }
        let start = haystack.index(range.lowerBound, offsetBy: -200, limitedBy: haystack.startIndex) ?? haystack.startIndex
        let end = haystack.index(range.upperBound, offsetBy: 100, limitedBy: haystack.endIndex) ?? haystack.endIndex
        return String(haystack[start..<end])
    }

    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// `scripts/mail-fill`: APPENDs generated messages over one IMAPS connection.
    static func fill(user: String, count: Int, malformed: Bool) async throws {
        try await TestCommand.output("/usr/bin/python3", [repository.appendingPathComponent("scripts/mail-fill").path, "--user", user,
                                                          "--count", String(count)] + (malformed ? ["--malformed"] : []))
    }

    /// The `docker` command's output (the operator's view of the container).
    static func docker(_ arguments: [String]) async throws -> String {
        let result = try await TestCommand.run("/usr/bin/env", ["docker"] + arguments)
        guard result.succeeded else { throw TestSetupError("docker \(arguments.joined(separator: " ")) failed: \(result.transcript)") }
        return result.transcript
    }
}

extension EmailToolsTests {
    @Test("a message triggers a run that answers with email_send after a person approves it; the reply reaches the sender")
    func triggeredRunReplies() async throws {
        let mail = try TestMail()
        let user = mail.address("desk")
        let customer = mail.address("customer")
        let reply = Chat.ToolCall(id: "send-1", name: "email_send", arguments: String(decoding: try JSONEncoder().encode(JSONValue.object([
            "to": [.string(customer)], "subject": "Re: Where is my order?", "text": "It ships tomorrow.",
        ])), as: UTF8.self))
        let llm = ScriptedLLM([.toolCalls([reply]), .text("I answered the customer.")])
        try await llm.serve { url in
            try await TestApp.run(.sqlite, configure: {
                $0.litellmProxyURL = url
                $0.llmTimeoutSeconds = 10
                $0.runWorker.pollInterval = .milliseconds(50)
                $0.connectors.trigger.idleRenewal = .seconds(1)
            }) { api, _ in
                let admin = try await api.login().access
                let persona = try await ContainerTests.persona(api, admin, name: "Support desk")
                _ = try await ContainerTests.start(api, admin, persona)
                let agent = try #require(try await api.post("/api/personas/\(persona)/agents", token: admin, json: [
                    "name": "Support", "model": "scripted", "tools": ["email_send"],
                ]).data?["id"]?.stringValue)
                let created = try await api.post("/api/personas/\(persona)/connectors", token: admin, json: [
                    "kind": "email", "name": "support",
                    "imap": ["host": .string(mail.gateway), "username": .string(user), "password": .string(mail.password)],
                    "smtp": ["host": .string(mail.gateway)], "caCertificate": .string(mail.caPEM),
                    "trigger": ["agentId": .string(agent)],
                ])
                #expect(created.status == .created, "\(created.body)")
                let connector = try #require(created.data?["id"]?.stringValue)
                #expect(await ContainerTests.eventually(20) {
                    (try? await api.get("/api/personas/\(persona)/connectors/\(connector)", token: admin))?.data?["triggerStatus"]?["state"] == "idle"
                })
                try await mail.deliver(to: user, subject: "Where is my order?", body: "Order 1234 has not arrived.")

                var run: JSONValue?
                #expect(await ContainerTests.eventually(30) {
                    run = (try? await api.get("/api/runs?personaId=\(persona)", token: admin))?.data?[0]
                    return run?["status"] == "awaiting_approval"
                }, "\(String(describing: run))")
                let id = try #require(run?["id"]?.stringValue)
                #expect(run?["input"]?.stringValue?.contains("Order 1234 has not arrived.") == true)
                let detail = try await api.get("/api/runs/\(id)", token: admin)
                #expect(detail.data?["approvals"]?[0]?["tool"] == "email_send",
                        "\(detail.body)")
                // Nothing is sent before the approval.
                #expect(try await mail.withMailbox(customer) { try await $0.select("INBOX").exists } == 0)
                #expect(try await api.post("/api/runs/\(id)/approve", token: admin, json: ["approved": true]).status == .ok)
                #expect(await ContainerTests.eventually(30) {
                    (try? await api.get("/api/runs/\(id)", token: admin))?.data?["status"] == "completed"
                })
                #expect(await ContainerTests.eventually(15) {
                    (try? await mail.withMailbox(customer) { try await $0.select("INBOX").exists }) == 1
                })
                let answer = try await mail.withMailbox(customer) { client in
                    _ = try await client.select("INBOX")
                    let uid = try #require(try await client.uidSearch([.all]).first)
                    let fetched = try await client.uidFetchMessage(uid)
                    return MailMessage(parsing: try #require(fetched).raw)
                }
                #expect(answer.subject == "Re: Where is my order?" && answer.text.contains("It ships tomorrow."))
                #expect(answer.from.first?.address == user)
            }
        }
    }
}
