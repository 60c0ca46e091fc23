import Connectors
import Foundation
import Logging
import Testing

/// The real Postfix and Dovecot that `scripts/lib/mail.sh` (`ensure_mail_servers`) starts:
/// IMAP 143 (STARTTLS or plain) and 993 (TLS), SMTP 25 (no login, local delivery), 587
/// (STARTTLS + AUTH) and 465 (TLS + AUTH); any `<name>@persona.test` logs in with one password.
struct MailTestEnvironment {
    let host: String
    let caPEM: String
    let password: String
    let domain: String

    struct Missing: Error, CustomStringConvertible {
        var description: String
    }

    /// Reads `PERSONA_TEST_MAIL_*`; fails (never skips) when they are missing.
    static func require() throws -> MailTestEnvironment {
        let environment = ProcessInfo.processInfo.environment
        guard let host = environment["PERSONA_TEST_MAIL_HOST"], !host.isEmpty,
              let caPath = environment["PERSONA_TEST_MAIL_CA"], let password = environment["PERSONA_TEST_MAIL_PASSWORD"],
              !password.isEmpty else {
            throw Missing(description: """
                PERSONA_TEST_MAIL_HOST, PERSONA_TEST_MAIL_CA and PERSONA_TEST_MAIL_PASSWORD are not set: start the test mail \
                servers with `source scripts/lib/mail.sh && ensure_mail_servers` (scripts/test does it) and run the tests \
                in that shell
                """)
        }
        guard let pem = try? String(contentsOfFile: caPath, encoding: .utf8) else {
            throw Missing(description: "PERSONA_TEST_MAIL_CA names \(caPath), which cannot be read: run ensure_mail_servers again")
        }
        return MailTestEnvironment(host: host, caPEM: pem, password: password,
                                   domain: environment["PERSONA_TEST_MAIL_DOMAIN"].flatMap { $0.isEmpty ? nil : $0 } ?? "persona.test")
    }

    /// A new mailbox nobody used: `t-<uuid>@persona.test` (tests run in parallel).
    func freshAddress(_ prefix: String = "t") -> String {
        "\(prefix)-\(UUID().uuidString.lowercased())@\(domain)"
    }

    func imap(_ user: String, port: Int = 993, security: MailServer.Security = .tls, password: String? = nil,
              trustCA: Bool = true) -> MailServer {
        MailServer(host: host, port: port, security: security, username: user, password: password ?? self.password,
                   trustedCAPEM: trustCA ? caPEM : nil, connectTimeout: .seconds(5), commandTimeout: .seconds(20))
    }

    func smtp(_ user: String, port: Int = 587, security: MailServer.Security = .starttls, password: String? = nil,
              trustCA: Bool = true) -> MailServer {
        MailServer(host: host, port: port, security: security, username: user, password: password ?? self.password,
                   trustedCAPEM: trustCA ? caPEM : nil, connectTimeout: .seconds(5), commandTimeout: .seconds(20))
    }

    /// Port 25: no login, delivery to @persona.test only.
    func relay() -> MailServer {
        MailServer(host: host, port: 25, security: .none, username: "", password: "", connectTimeout: .seconds(5),
                   commandTimeout: .seconds(20))
    }

    /// Waits (polling, at most `timeout`) until `user`'s INBOX holds at least `count` messages,
    /// and returns their UIDs.
    func waitForMessages(_ user: String, count: Int = 1, timeout: Duration = .seconds(20)) async throws -> [UInt32] {
        try await IMAPClient.withConnection(to: imap(user), logger: Self.logger) { client in
            try await client.login()
            let deadline = ContinuousClock.now + timeout
            while true {
                _ = try await client.select("INBOX", readOnly: true)
                let uids = try await client.uidSearch([.all])
                if uids.count >= count { return uids }
                guard ContinuousClock.now < deadline else {
                    throw Missing(description: "\(user)'s INBOX held \(uids.count) messages after \(timeout), expected \(count)")
                }
                try await Task.sleep(for: .milliseconds(100))
            }
        }
    }

    static let logger: Logger = {
        var logger = Logger(label: "connectors-tests")
        logger.logLevel = ProcessInfo.processInfo.environment["PERSONA_TEST_MAIL_DEBUG"] == nil ? .info : .debug
        return logger
    }()
}

/// A small RFC 5322 message with LF-free CRLF line ends.
func testMessage(from: String, to: String, subject: String, body: String, extraHeaders: [String] = []) -> [UInt8] {
    let headers = [
        "From: Persona Test <\(from)>",
        "To: \(to)",
        "Subject: \(EncodedWords.encode(subject))",
        "Date: \(MailDate.format(Date()))",
        "Message-ID: <\(UUID().uuidString.lowercased())@persona.test>",
        "MIME-Version: 1.0",
        "Content-Type: text/plain; charset=utf-8",
        "Content-Transfer-Encoding: 8bit",
    ] + extraHeaders
    return Array((headers.joined(separator: "\r\n") + "\r\n\r\n" + body.replacingOccurrences(of: "\n", with: "\r\n") + "\r\n").utf8)
}

/// Runs `body`, failing when it takes longer than `limit` (a hung network wait fails the test
/// instead of holding the run).
func withDeadline<T: Sendable>(_ limit: Duration, _ what: String, _ body: @escaping @Sendable () async throws -> T) async throws -> T {
    try await withThrowingTaskGroup(of: T?.self) { group in
        group.addTask { try await body() }
        group.addTask {
            try await Task.sleep(for: limit)
            return nil
        }
        defer { group.cancelAll() }
        guard let first = try await group.next(), let result = first else {
            throw MailTestEnvironment.Missing(description: "\(what) did not finish within \(limit)")
        }
        return result
    }
}
