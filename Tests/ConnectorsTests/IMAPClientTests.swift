@testable import Connectors
import Foundation
import Logging
import Testing
import TestTraits

/// The IMAP client against the real Dovecot of scripts/lib/mail.sh (each test its own new
/// mailbox, so they run in parallel).
@Suite("IMAP client (real Dovecot)", .timeLimit(.minutes(2)))
struct IMAPClientTests {
    let mail: MailTestEnvironment
    let logger = MailTestEnvironment.logger

    init() throws {
        mail = try MailTestEnvironment.require()
    }

    @Test("logs in over IMAPS (993), STARTTLS (143) and plain text (143), reading the capabilities after login",
          arguments: [(993, MailServer.Security.tls), (143, .starttls), (143, .none)])
    func login(port: Int, security: MailServer.Security) async throws {
        let user = mail.freshAddress()
        let folders = try await IMAPClient.withConnection(to: mail.imap(user, port: port, security: security), logger: logger) { client in
            #expect(await client.greeting == "Persona test IMAP ready.")
            if security == .starttls { #expect(await !client.capabilities.contains("STARTTLS")) }
            try await client.login()
            let capabilities = await client.capabilities
            #expect(capabilities.isSuperset(of: ["IMAP4REV1", "IDLE", "MOVE", "UIDPLUS"]))
            return try await client.listFolders()
        }
        #expect(Set(folders.map(\.name)).isSuperset(of: ["INBOX", "Sent", "Archive", "Trash", "Junk"]))
        #expect(folders.first { $0.name == "Sent" }?.attributes.contains("\\Sent") == true)
    }

    @Test("a wrong password is auth_failed, and neither password is in the message")
    func wrongPassword() async throws {
        let wrong = "wrong-\(UUID().uuidString)"
        let error = await #expect(throws: MailError.self) {
            try await IMAPClient.withConnection(to: self.mail.imap(self.mail.freshAddress(), password: wrong), logger: self.logger) { client in
                try await client.login()
            }
        }
        #expect(error?.code == .authFailed)
        #expect(error?.message.contains("AUTHENTICATIONFAILED") == true)
        #expect(error.map { !$0.message.contains(wrong) && !$0.message.contains(self.mail.password) } == true)
        #expect(error.map { !"\($0)".contains(wrong) } == true)
    }

    @Test("LOGIN (no AUTH=PLAIN) quotes or sends as literals what it must, and refuses a wrong password")
    func loginCommand() async throws {
        // The quoting LOGIN uses, checked on the wire against the real server through a
        // password with a quote and a backslash (refused, but parsed: a parse error would be BAD).
        #expect(IMAPClient.describe(IMAPClient.astring("a\"b\\c")) == "\"a\\\"b\\\\c\"")
        #expect(IMAPClient.describe(IMAPClient.astring("pässword")) == "{9}")
        let error = await #expect(throws: MailError.self) {
            try await IMAPClient.withConnection(to: self.mail.imap(self.mail.freshAddress(), password: "x\"y\\z"), logger: self.logger) { client in
                try await client.forceLoginCommand()
            }
        }
        #expect(error?.code == .authFailed)
        try await IMAPClient.withConnection(to: mail.imap(mail.freshAddress()), logger: logger) { client in
            try await client.forceLoginCommand()
            _ = try await client.select("INBOX")
        }
    }

    @Test("APPEND, SELECT, UID SEARCH (with UTF-8 literals) and UID FETCH round-trip a message, parsed")
    func roundTrip() async throws {
        let user = mail.freshAddress()
        let subject = "Grüße \(UUID().uuidString.prefix(8)) — déjà vu"
        let raw = testMessage(from: "sender@persona.test", to: user, subject: subject, body: "Hello\n.starts with a dot\nbye")
        try await IMAPClient.withConnection(to: mail.imap(user), logger: logger) { client in
            try await client.login()
            let before = try await client.select("INBOX")
            #expect(before.exists == 0)
            #expect(before.uidValidity > 0)
            let uid = try await client.append(raw, to: "INBOX", flags: ["\\Flagged"])
            #expect(uid == before.uidNext)
            let after = try await client.select("INBOX")
            #expect(after.exists == 1)
            #expect(after.uidNext == before.uidNext + 1)
            #expect(after.uidValidity == before.uidValidity)

            #expect(try await client.uidSearch([.subject("déjà vu"), .flagged, .unseen]) == [before.uidNext])
            #expect(try await client.uidSearch([.from("sender@persona.test"), .since(Date().addingTimeInterval(-86_400))]) == [before.uidNext])
            #expect(try await client.uidSearch([.subject("not there")]).isEmpty)
            #expect(try await client.uidSearch([.or(.subject("nope"), .not(.seen))]) == [before.uidNext])
            // `n:*` matches the highest UID even when it is below n: left out.
            #expect(try await client.uidSearch([.uids(from: after.uidNext, through: nil)]).isEmpty)

            let fetched = try #require(try await client.uidFetchMessage(before.uidNext))
            #expect(fetched.raw == raw)
            #expect(fetched.flags.contains("\\Flagged"))
            #expect(!fetched.flags.contains("\\Seen"))
            #expect(fetched.internalDate.map { abs($0.timeIntervalSinceNow) < 300 } == true)
            let message = MailMessage(parsing: fetched.raw)
            #expect(message.subject == subject)
            #expect(message.text == "Hello\n.starts with a dot\nbye")
            #expect(message.from.first?.address == "sender@persona.test")

            let summaries = try await client.uidFetchSummaries([before.uidNext, 999_999])
            #expect(summaries.map(\.uid) == [before.uidNext])
            #expect(summaries.first?.size == raw.count)
            #expect(summaries.first.map { MailMessage(parsing: $0.header).subject } == subject)
            // BODY.PEEK left it unseen.
            #expect(try await client.uidSearch([.unseen]) == [before.uidNext])
            #expect(try await client.uidFetchMessage(999_999) == nil)
        }
    }

    @Test("UID STORE adds and removes flags; UID MOVE (and the COPY fallback) move to another folder; a missing folder is not_found")
    func storeAndMove() async throws {
        let user = mail.freshAddress()
        try await IMAPClient.withConnection(to: mail.imap(user), logger: logger) { client in
            try await client.login()
            for index in 0..<3 {
                try await client.append(testMessage(from: user, to: user, subject: "m\(index)", body: "b"), to: "INBOX")
            }
            let status = try await client.select("INBOX")
            let uids = try await client.uidSearch([.all])
            #expect(uids.count == 3)
            try await client.uidStore(uids, .add, flags: ["\\Seen", "$Urgent"])
            #expect(try await client.uidSearch([.seen]) == uids)
            #expect(try await client.uidSearch([.keyword("$Urgent")]) == uids)
            try await client.uidStore([uids[0]], .remove, flags: ["\\Seen"])
            #expect(try await client.uidSearch([.unseen]) == [uids[0]])

            try await client.uidMove([uids[0]], to: "Archive")
            try await client.uidMoveByCopy([uids[1]], to: "Trash")
            #expect(try await client.uidSearch([.all]) == [uids[2]])
            let missing = await #expect(throws: MailError.self) { try await client.uidMove([uids[2]], to: "No Such Folder") }
            #expect(missing?.code == .notFound)
            let notSelectable = await #expect(throws: MailError.self) { try await client.select("Missing \(UUID())") }
            #expect(notSelectable?.code == .notFound)

            let archive = try await client.select("Archive", readOnly: true)
            #expect(archive.exists == 1)
            #expect(archive.readOnly)
            let moved = try #require(try await client.uidSearch([.all]).first)
            #expect(try await client.uidFetchMessage(moved).map { MailMessage(parsing: $0.raw).subject } == "m0")
            #expect(try await client.select("Trash").exists == 1)
            #expect(status.exists == 3)

            try await client.createFolder("Entwürfe")
            try await client.createFolder("Entwürfe")
            #expect(try await client.listFolders().contains { $0.name == "Entwürfe" })
            #expect(try await client.select("Entwürfe").exists == 0)
        }
    }

    @Test("a 10 MB message is appended and fetched back byte for byte; its attachment decodes intact", .blocking)
    func largeMessage() async throws {
        let user = mail.freshAddress()
        var random = SplitMix64(seed: 10)
        var attachment = [UInt8](repeating: 0, count: 7_500_000)
        attachment.withUnsafeMutableBytes { bytes in
            for offset in stride(from: 0, to: bytes.count, by: 8) { bytes.storeBytes(of: random.next(), toByteOffset: offset, as: UInt64.self) }
        }
        let boundary = "b-\(UUID().uuidString)"
        let text = """
            From: big@persona.test\r\nTo: \(user)\r\nSubject: big\r\nMIME-Version: 1.0\r\n\
            Content-Type: multipart/mixed; boundary="\(boundary)"\r\n\r\n--\(boundary)\r\nContent-Type: text/plain\r\n\r\nsee attached\r\n\
            --\(boundary)\r\nContent-Type: application/octet-stream\r\nContent-Disposition: attachment; filename="blob.bin"\r\n\
            Content-Transfer-Encoding: base64\r\n\r\n
            """
        let raw = Array(text.utf8) + Array(Base64.encode(attachment, lineLength: 76).utf8) + Array("\r\n--\(boundary)--\r\n".utf8)
        #expect(raw.count > 10_000_000)
        try await IMAPClient.withConnection(to: mail.imap(user), logger: logger) { client in
            try await client.login()
            let uid = try #require(try await client.append(raw, to: "INBOX"))
            _ = try await client.select("INBOX")
            let start = ContinuousClock.now
            let fetched = try #require(try await client.uidFetchMessage(uid))
            print("fetched \(fetched.raw.count) bytes in \(ContinuousClock.now - start)")
            #expect(fetched.raw == raw)
            let message = MailMessage(parsing: fetched.raw)
            #expect(message.text == "see attached")
            #expect(message.attachments.first?.filename == "blob.bin")
            #expect(message.attachments.first?.data == attachment)
        }
    }

    @Test("IDLE wakes when a message is delivered through port 25; a quiet IDLE times out; a cancelled one ends cleanly")
    func idle() async throws {
        let user = mail.freshAddress()
        let relay = mail.relay()
        let logger = self.logger
        try await IMAPClient.withConnection(to: mail.imap(user), logger: logger) { client in
            try await client.login()
            _ = try await client.select("INBOX")

            let started = ContinuousClock.now
            #expect(try await client.idle(timeout: .seconds(1)) == .timedOut)
            #expect(ContinuousClock.now - started >= .milliseconds(900))

            async let event = client.idle(timeout: .seconds(30))
            try await Task.sleep(for: .milliseconds(300))
            let sent = try await SMTPClient.withConnection(to: relay, logger: logger) { smtp in
                try await smtp.send(from: "idle@persona.test", recipients: [user],
                                    data: testMessage(from: "idle@persona.test", to: user, subject: "wake", body: "up"))
                return ContinuousClock.now
            }
            let woke = try await event
            let latency = ContinuousClock.now - sent
            print("IDLE woke \(latency) after the SMTP server accepted the message")
            guard case .changed(let changes) = woke else {
                Issue.record("IDLE ended without a change: \(woke)")
                return
            }
            #expect(changes.exists == 1)
            #expect(latency < .seconds(10))

            let idling = Task { try await client.idle(timeout: .seconds(30)) }
            try await Task.sleep(for: .milliseconds(300))
            idling.cancel()
            await #expect(throws: CancellationError.self) { try await idling.value }
            #expect(try await client.noop().isEmpty)
            #expect(try await client.uidSearch([.subject("wake")]).count == 1)
        }
    }

    @Test("a server without IDLE support or a folder is told apart: IDLE before SELECT is a protocol error")
    func idleNeedsFolder() async throws {
        try await IMAPClient.withConnection(to: mail.imap(mail.freshAddress()), logger: logger) { client in
            try await client.login()
            let error = await #expect(throws: MailError.self) { try await client.idle(timeout: .seconds(1)) }
            #expect(error?.code == .protocolError)
            _ = try await client.select("INBOX")
            #expect(try await client.noop().isEmpty)
        }
    }
}

extension IMAPClient {
    /// LOGIN even though the server offers AUTH=PLAIN (which `login()` prefers).
    func forceLoginCommand() async throws {
        let result = try await execute([.text("LOGIN ")] + Self.astring(server.username) + [.text(" ")] + Self.astring(server.password),
                                       logged: "LOGIN <credentials>")
        switch result.status.kind {
        case .ok: return
        case .no: throw MailError(.authFailed, "refused: \(result.status.serverText)")
        default: throw MailError(.protocolError, "not understood: \(result.status.serverText)")
        }
    }
}
