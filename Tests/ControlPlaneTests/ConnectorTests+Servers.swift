import ControlPlane
import Foundation
import NIOCore
import NIOPosix
import PersonaKit
import Testing
import TestSupport

extension ConnectorTests {
    @Test("the connection test logs in to the real servers: ok, auth_failed, tls_failed, unreachable, timeout; its outcome shows on the connector and in the audit log",
          arguments: TestBackend.allCases)
    func connectionTest(backend: TestBackend) async throws {
        let mail = try TestMail()
        let user = mail.address("probe")
        // A listener that accepts and never says a word: a server that hangs.
        let silent = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .childChannelInitializer { _ in MultiThreadedEventLoopGroup.singleton.next().makeSucceededVoidFuture() }
            .bind(host: "127.0.0.1", port: 0).get()
        defer { silent.close(promise: nil) }
        let silentPort = try #require(silent.localAddress?.port)
        try await TestApp.run(backend, configure: { $0.connectors.testTimeoutSeconds = 2 }) { api, _ in
            let admin = try await api.login().access
            let persona = try #require(try await api.post("/api/personas", token: admin, json: ["name": "Probe"]).data?["id"]?.stringValue)
            func connector(_ name: String, imap: [String: JSONValue], ca: Bool = true) async throws -> String {
                var imap = imap
                imap["username"] = .string(user)
                if imap["password"] == nil { imap["password"] = .string(mail.password) }
                var body: [String: JSONValue] = ["kind": "email", "name": .string(name), "imap": .object(imap),
                                                 "smtp": ["host": .string(mail.host), "port": 465, "security": "tls"]]
                if ca { body["caCertificate"] = .string(mail.caPEM) }
                let created = try await api.post("/api/personas/\(persona)/connectors", token: admin, json: .object(body))
                return try #require(created.data?["id"]?.stringValue, "\(created.body)")
            }
            let cases: [(String, String, [String: JSONValue], Bool)] = [
                ("ok", "ok", ["host": .string(mail.host)], true),
                ("starttls", "ok", ["host": .string(mail.host), "security": "starttls"], true),
                ("wrong password", "auth_failed", ["host": .string(mail.host), "password": "not-the-password"], true),
                ("untrusted", "tls_failed", ["host": .string(mail.host)], false),
                ("closed port", "unreachable", ["host": "127.0.0.1", "port": 9], true),
                ("silent", "timeout", ["host": "127.0.0.1", "port": .number(Double(silentPort))], true),
            ]
            for (name, expected, imap, ca) in cases {
                let id = try await connector(name, imap: imap, ca: ca)
                let tested = try await api.post("/api/personas/\(persona)/connectors/\(id)/test", token: admin)
                #expect(tested.status == .ok, "\(name): \(tested.body)")
                #expect(tested.data?["status"]?.stringValue == expected, "\(name): \(tested.body)")
                #expect(tested.data?["imap"]?["status"]?.stringValue == expected, "\(name): \(tested.body)")
                // The SMTP server shares the login (and the CA) unless given its own.
                let smtp = ["untrusted": "tls_failed", "wrong password": "auth_failed"][name] ?? "ok"
                #expect(tested.data?["smtp"]?["status"]?.stringValue == smtp, "\(name): \(tested.body)")
                #expect((tested.data?["message"]?.stringValue?.count ?? 0) > 10)
                #expect(!tested.body.contains(mail.password) && !tested.body.contains("not-the-password"))
                let shown = try await api.get("/api/personas/\(persona)/connectors/\(id)", token: admin)
                #expect(shown.data?["status"]?["state"]?.stringValue == expected && shown.data?["status"]?["checkedAt"] != nil)
            }
            let audit = try await api.get("/api/audit?personaId=\(persona)&type=connector.tested&limit=100", token: admin)
            #expect(audit.data?.arrayValue?.count == cases.count)
            #expect(!audit.body.contains(mail.password))
        }
    }
}
