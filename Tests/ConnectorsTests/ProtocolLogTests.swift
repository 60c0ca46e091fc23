@testable import Connectors
import Foundation
import Logging
import Synchronization
import Testing

/// The debug protocol log is for people reading a failure: every line is there except the
/// credentials and the message contents.
@Suite("Protocol logs (real servers)", .timeLimit(.minutes(1)))
struct ProtocolLogTests {
    let mail: MailTestEnvironment

    init() throws {
        mail = try MailTestEnvironment.require()
    }

    @Test("IMAP (AUTHENTICATE and LOGIN) and SMTP (AUTH PLAIN and AUTH LOGIN) log their lines at debug level, never the password")
    func noCredentialsInLogs() async throws {
        let lines = LogLines()
        var logger = Logger(label: "protocol-log") { _ in lines }
        logger.logLevel = .debug
        let user = mail.freshAddress()
        let body = "secret body \(UUID())"
        try await IMAPClient.withConnection(to: mail.imap(user), logger: logger) { client in
            try await client.login()
            _ = try await client.select("INBOX")
            try await client.append(testMessage(from: user, to: user, subject: "s", body: body), to: "INBOX")
        }
        try await IMAPClient.withConnection(to: mail.imap(user, port: 143, security: .starttls), logger: logger) { client in
            try await client.forceLoginCommand()
        }
        try await SMTPClient.withConnection(to: mail.smtp(user), logger: logger) { smtp in
            try await smtp.login()
            try await smtp.send(from: user, recipients: [user], data: testMessage(from: user, to: user, subject: "s", body: body))
        }
        try await SMTPClient.withConnection(to: mail.smtp(user, port: 465, security: .tls), logger: logger) { smtp in
            try await smtp.login(preferring: "LOGIN")
        }

        let text = lines.all.joined(separator: "\n")
        for expected in ["AUTHENTICATE PLAIN <credentials>", "LOGIN <credentials>", "C: AUTH PLAIN <credentials>", "C: AUTH LOGIN",
                         "S: 235", "S: * OK", "APPEND INBOX () {", "C: <message,"] {
            #expect(text.contains(expected), "\(expected) missing from the log")
        }
        let token = Base64.encode(Array("\0\(user)\0\(mail.password)".utf8))
        for secret in [mail.password, token, Base64.encode(Array(mail.password.utf8)), body] {
            #expect(!text.contains(secret))
        }
    }
}

/// A log handler that keeps every message (thread-safe).
final class LogLines: LogHandler, Sendable {
    private let storage = Mutex<[String]>([])
    var all: [String] { storage.withLock { $0 } }

    var metadata: Logger.Metadata {
        get { [:] }
        set {}
    }

    var logLevel: Logger.Level {
        get { .trace }
        set {}
    }

    subscript(metadataKey _: String) -> Logger.Metadata.Value? {
        get { nil }
        set {}
    }

    func log(event: LogEvent) {
        storage.withLock { $0.append(event.message.description) }
    }
}
