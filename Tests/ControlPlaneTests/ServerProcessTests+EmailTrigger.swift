import AsyncHTTPClient
import Connectors
import ControlPlane
import Foundation
import NIOCore
import NIOHTTP1
import PersonaKit
import Testing
import TestSupport
import TestTraits

extension ServerProcessTests {
    @Test("an email trigger starts exactly one run per message across a SIGKILL of the control plane (mail delivered before, during and after)")
    func emailTriggerSurvivesSIGKILL() async throws {
        let mail = try TestMail()
        let user = mail.address("crash")
        let count = 30
        let llm = ScriptedLLM(Array(repeating: .text("Noted.", pieces: 1), count: count + 10))
        try await llm.serve { url in
            let storage = FileManager.default.temporaryDirectory.appendingPathComponent("persona-proc-\(UUID().uuidString)").path
            defer { try? FileManager.default.removeItem(atPath: storage) }
            let port = Self.freePort()
            let env = environment(storage: storage, port: port, extra: [
                "PERSONA_ADMIN_EMAIL": "admin@example.com", "PERSONA_ADMIN_PASSWORD": "trigger crash test password",
                "LITELLM_PROXY_URL": url, "LOG_LEVEL": "info",
            ])
            let client = HTTPClient(eventLoopGroupProvider: .singleton)
            var server = try Server(environment: env, port: port)
            do {
                try await waitUntilHealthy(client, port: port, server: server)
                let base = "http://127.0.0.1:\(port)"
                let (_, _, login) = try await send(client, .POST, base + "/api/auth/login",
                                                   json: #"{"email":"admin@example.com","password":"trigger crash test password"}"#)
                let token = try #require(try JSONDecoder().decode(JSONValue.self, from: Data(login.utf8))["data"]?["accessToken"]?.stringValue)
                let auth = [("Authorization", "Bearer \(token)")]
                func json(_ text: String) throws -> JSONValue { try JSONDecoder().decode(JSONValue.self, from: Data(text.utf8)) }
                let persona = try #require(try json(try await send(client, .POST, base + "/api/personas", json: #"{"name":"Crashy"}"#,
                                                                   headers: auth).2)["data"]?["id"]?.stringValue)
                let agent = try #require(try json(try await send(client, .POST, base + "/api/personas/\(persona)/agents",
                                                                 json: #"{"name":"Mail","model":"scripted"}"#, headers: auth).2)["data"]?["id"]?.stringValue)
                let connector: JSONValue = [
                    "kind": "email", "name": "inbox",
                    "imap": ["host": .string(mail.host), "username": .string(user), "password": .string(mail.password)],
                    "smtp": ["host": .string(mail.host)], "caCertificate": .string(mail.caPEM),
                    "trigger": ["agentId": .string(agent)],
                ]
                let body = String(decoding: try JSONEncoder().encode(connector), as: UTF8.self)
                let (createdStatus, _, created) = try await send(client, .POST, base + "/api/personas/\(persona)/connectors", json: body, headers: auth)
                #expect(createdStatus == 201, "\(created)")
                let connectorId = try #require(try json(created)["data"]?["id"]?.stringValue)
                func state() async throws -> String? {
                    try json(try await send(client, .GET, base + "/api/personas/\(persona)/connectors/\(connectorId)", headers: auth).2)[
                        "data"]?["triggerStatus"]?["state"]?.stringValue
                }
                func runs() async throws -> [JSONValue] {
                    try json(try await send(client, .GET, base + "/api/runs?personaId=\(persona)&limit=200", headers: auth).2)["data"]?.arrayValue ?? []
                }
                for _ in 0..<200 where try await state() != "idle" { try await Task.sleep(for: .milliseconds(100)) }
                #expect(try await state() == "idle")

                // Mail arrives in three batches: before the kill (the kill lands while those
                // are being handled), while the control plane is down, and after it is back.
                func deliver(_ range: ClosedRange<Int>) async throws {
                    for n in range {
                        try await mail.deliver(to: user, subject: "m-\(n)", body: "Message number \(n).")
                        try await Task.sleep(for: .milliseconds(50))
                    }
                }
                try await deliver(1...10)
                // Kill once half of them have runs (a minute bounds how long a loaded machine may
                // take to start five).
                let firstFive = ContinuousClock.now + .seconds(60)
                while (try? await runs().count) ?? 0 < 5, ContinuousClock.now < firstFive { try await Task.sleep(for: .milliseconds(20)) }
                #expect(try await runs().count >= 5)
                kill(server.process.processIdentifier, SIGKILL)
                await TestCommand.exit(of: server.process)
                #expect(server.process.terminationReason == .uncaughtSignal)
                try await deliver(11...20)
                server = try Server(environment: env, port: port)
                try await waitUntilHealthy(client, port: port, server: server)
                try await deliver(21...count)

                let allStarted = ContinuousClock.now + .seconds(120)
                while (try? await runs().count) ?? 0 < count, ContinuousClock.now < allStarted { try await Task.sleep(for: .milliseconds(100)) }
                try await Task.sleep(for: .seconds(2))  // nothing more may come
                let all = try await runs()
                #expect(all.count == count, "\(all.count) runs for \(count) messages")
                for n in 1...count {
                    let matching = all.filter { $0["input"]?.stringValue?.contains("Subject: m-\(n)\n") == true }
                    #expect(matching.count == 1, "message m-\(n) started \(matching.count) runs")
                }
                // Every message was marked seen, the ones a kill interrupted included.
                let unseen = try await mail.withMailbox(user) { client in
                    _ = try await client.select("INBOX")
                    return try await client.uidSearch([.unseen])
                }
                #expect(unseen.isEmpty, "unseen after the restart: \(unseen)")
                server.process.terminate()
                await TestCommand.exit(of: server.process)
            } catch {
                if server.process.isRunning { server.process.terminate() }
                try? await client.shutdown()
                throw error
            }
            try await client.shutdown()
        }
    }
}
