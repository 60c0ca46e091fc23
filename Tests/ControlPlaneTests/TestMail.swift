import Connectors
import Foundation
import PersonaKit
import Testing
import TestSupport

/// The real postfix and dovecot `scripts/lib/mail.sh` starts (scripts/test always does): any
/// `<name>@persona.test` logs in with one shared password, so each test makes its own
/// mailboxes.
struct TestMail: Sendable {
    let host: String
    /// docker0's address: where persona containers reach the mail servers.
    let gateway: String
    let caPEM: String
    let password: String
    let domain: String

    init() throws {
        let env = ProcessInfo.processInfo.environment
        guard let host = env["PERSONA_TEST_MAIL_HOST"], let gateway = env["PERSONA_TEST_MAIL_GATEWAY"],
              let caPath = env["PERSONA_TEST_MAIL_CA"], let password = env["PERSONA_TEST_MAIL_PASSWORD"] else {
            throw TestSetupError("PERSONA_TEST_MAIL_* is not set: start the mail servers with `source scripts/lib/mail.sh && ensure_mail_servers` (scripts/test does)")
        }
        self.host = host
        self.gateway = gateway
        self.caPEM = try String(contentsOfFile: caPath, encoding: .utf8)
        self.password = password
        self.domain = env["PERSONA_TEST_MAIL_DOMAIN"] ?? "persona.test"
    }

    func address(_ prefix: String = "t") -> String {
        "\(prefix)-\(UUID().uuidString.prefix(12).lowercased())@\(domain)"
    }

    func imap(_ user: String, host: String? = nil, port: Int = 993, security: MailServer.Security = .tls, password: String? = nil,
              trusted: Bool = true) -> MailServer {
        MailServer(host: host ?? self.host, port: port, security: security, username: user, password: password ?? self.password,
                   trustedCAPEM: trusted ? caPEM : nil, connectTimeout: .seconds(10), commandTimeout: .seconds(30))
    }

    /// A message as a sender's mail program writes it.
    static func message(from: String = "Grace <grace@example.org>", to: String, subject: String, body: String,
                        messageId: String = "<\(UUID().uuidString)@example.org>") -> [UInt8] {
        Array("""
            From: \(from)\r
            To: \(to)\r
            Subject: \(subject)\r
            Date: \(MailDate.format(Date()))\r
            Message-ID: \(messageId)\r
            MIME-Version: 1.0\r
            Content-Type: text/plain; charset=utf-8\r
            \r
            \(body)\r

            """.utf8)
    }

    /// Delivers through port 25 (no login, local delivery), as another mail server would.
    func deliver(to recipient: String, subject: String, body: String = "Hello.",
                 messageId: String = "<\(UUID().uuidString)@example.org>") async throws {
        let relay = MailServer(host: host, port: 25, security: .none, username: "", password: "",
                               connectTimeout: .seconds(10), commandTimeout: .seconds(30))
        let client = try await SMTPClient.connect(to: relay)
        do {
            let result = try await client.send(from: "grace@example.org", recipients: [recipient],
                                               data: Self.message(to: recipient, subject: subject, body: body, messageId: messageId))
            #expect(result.rejected.isEmpty, "\(result)")
            await client.quit()
        } catch {
            await client.close()
            throw error
        }
    }

    /// Opens `user`'s mailbox, logged in, for `body`.
    func withMailbox<T: Sendable>(_ user: String, _ body: @Sendable (IMAPClient) async throws -> T) async throws -> T {
        try await IMAPClient.withConnection(to: imap(user)) { client in
            try await client.login()
            return try await body(client)
        }
    }
}
