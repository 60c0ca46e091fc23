@testable import Connectors
import Foundation
import Testing

/// The SMTP client against the real Postfix of scripts/lib/mail.sh; what it sends is read back
/// from Dovecot over IMAP.
@Suite("SMTP client (real Postfix)", .timeLimit(.minutes(2)))
struct SMTPClientTests {
    let mail: MailTestEnvironment
    let logger = MailTestEnvironment.logger

    init() throws {
        mail = try MailTestEnvironment.require()
    }

    @Test("submission with STARTTLS (587) and with TLS (465): logged in, sent to a new address, read back over IMAP intact",
          arguments: [(587, MailServer.Security.starttls), (465, .tls)])
    func sendAndReadBack(port: Int, security: MailServer.Security) async throws {
        let sender = mail.freshAddress("s")
        let recipient = mail.freshAddress("r")
        let subject = "Überweisung \(port) — \(UUID().uuidString.prefix(6))"
        let body = "Line one\n.a line starting with a dot\n.\n..two dots\nbare CR\rend\nlast"
        let raw = testMessage(from: sender, to: recipient, subject: subject, body: body)
        let result = try await SMTPClient.withConnection(to: mail.smtp(sender, port: port, security: security), logger: logger) { smtp in
            #expect(await smtp.greeting.contains("ESMTP"))
            #expect(await smtp.extensions["AUTH"]?.contains("PLAIN") == true)
            #expect(await smtp.extensions["STARTTLS"] == nil)
            try await smtp.login()
            return try await smtp.send(from: sender, recipients: [recipient], data: raw)
        }
        #expect(result.accepted == [recipient])
        #expect(result.rejected.isEmpty)
        #expect(result.reply.contains("queued"))

        let uids = try await mail.waitForMessages(recipient)
        let fetched = try await IMAPClient.withConnection(to: mail.imap(recipient), logger: logger) { client in
            try await client.login()
            _ = try await client.select("INBOX", readOnly: true)
            return try await client.uidFetchMessage(uids[0])
        }
        let message = MailMessage(parsing: try #require(fetched).raw)
        #expect(message.subject == subject)
        #expect(message.from.first?.address == sender)
        // Dot-stuffing undone by the server; the bare CR became a line break.
        #expect(message.text == "Line one\n.a line starting with a dot\n.\n..two dots\nbare CR\nend\nlast")
    }

    @Test("one refused recipient is reported while the others get the message; all refused is a server_error")
    func partialRecipients() async throws {
        let sender = mail.freshAddress("s")
        let good = mail.freshAddress("r")
        let bad = "nobody@reject.\(mail.domain)"
        let raw = testMessage(from: sender, to: good, subject: "partial", body: "x")
        try await SMTPClient.withConnection(to: mail.smtp(sender), logger: logger) { smtp in
            try await smtp.login()
            let result = try await smtp.send(from: sender, recipients: [bad, good], data: raw)
            #expect(result.accepted == [good])
            #expect(result.rejected.map(\.address) == [bad])
            #expect(result.rejected.first?.code == 550)
            #expect(result.rejected.first?.message.contains("rejected") == true)
            let none = await #expect(throws: MailError.self) { try await smtp.send(from: sender, recipients: [bad], data: raw) }
            #expect(none?.code == .serverError)
            #expect(none?.message.contains("550") == true)
            // The session is still usable after RSET.
            #expect(try await smtp.send(from: sender, recipients: [good], data: raw).accepted == [good])
        }
        #expect(try await mail.waitForMessages(good, count: 2).count == 2)
    }

    @Test("port 25 delivers locally without a login (login() does nothing without a user name)")
    func relay() async throws {
        let recipient = mail.freshAddress()
        try await SMTPClient.withConnection(to: mail.relay(), logger: logger) { smtp in
            try await smtp.login()
            try await smtp.send(from: "", recipients: [recipient], data: testMessage(from: "relay@persona.test", to: recipient, subject: "r", body: "r"))
        }
        #expect(try await mail.waitForMessages(recipient).count == 1)
    }

    @Test("a wrong password on 587 is auth_failed without the password in the message; AUTH on a plain 587 is refused with a hint")
    func authFailures() async throws {
        let user = mail.freshAddress()
        let wrong = "bad-\(UUID().uuidString)"
        let refused = await #expect(throws: MailError.self) {
            try await SMTPClient.withConnection(to: self.mail.smtp(user, password: wrong), logger: self.logger) { try await $0.login() }
        }
        #expect(refused?.code == .authFailed)
        #expect(refused?.message.contains("535") == true)
        #expect(refused.map { !$0.message.contains(wrong) } == true)

        let plain = await #expect(throws: MailError.self) {
            try await SMTPClient.withConnection(to: self.mail.smtp(user, security: .none), logger: self.logger) { try await $0.login() }
        }
        #expect(plain?.code == .authFailed)
        #expect(plain?.message.contains("STARTTLS") == true)
    }
}

/// The SMTP client's wire format, without a server.
@Suite("SMTP wire format")
struct SMTPWireTests {
    @Test("addresses with line breaks or angle brackets are refused before anything is sent")
    func injection() throws {
        for address in ["a@x.org>\r\nRCPT TO:<b@y.org", "a@x.org\nDATA", "<a@x.org>", "a b@x.org"] {
            #expect(throws: MailError.self) { try SMTPClient.checkAddress(address, allowEmpty: false) }
        }
        #expect(throws: Never.self) { try SMTPClient.checkAddress("", allowEmpty: true) }
    }

    @Test("DATA bytes: CRLF line ends, leading dots doubled, the terminator after a final line break")
    func dotStuffing() {
        #expect(SMTPClient.dotStuffed(Array("a\n.b\r\n..c\rd".utf8)) == Array("a\r\n..b\r\n...c\r\nd\r\n.\r\n".utf8))
        #expect(SMTPClient.dotStuffed(Array(".\r\n".utf8)) == Array("..\r\n.\r\n".utf8))
        #expect(SMTPClient.dotStuffed([]) == Array(".\r\n".utf8))
    }

    @Test("multi-line replies are read whole; a line that is no reply is a protocol error")
    func replies() throws {
        let bytes = Array("250-mail.persona.test\r\n250-SIZE 52428800\r\n250 SMTPUTF8\r\n220 next".utf8)
        let parsed = try bytes.withUnsafeBytes { try SMTPReply.parse($0) }
        #expect(parsed?.0 == SMTPReply(code: 250, lines: ["mail.persona.test", "SIZE 52428800", "SMTPUTF8"]))
        #expect(parsed?.consumed == bytes.count - 8)
        #expect(try Array("250-partial\r\n250 ".utf8).withUnsafeBytes { try SMTPReply.parse($0) } == nil)
        #expect(throws: MailError.self) { try Array("* OK IMAP\r\n".utf8).withUnsafeBytes { try SMTPReply.parse($0) } }
    }
}
