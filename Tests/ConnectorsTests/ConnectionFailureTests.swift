@testable import Connectors
import Foundation
import Testing
import TestTraits

/// Each way a connection fails gets its own code, for IMAP and SMTP, and the probe reports it.
@Suite("Connection failures and the probe (real servers)", .timeLimit(.minutes(2)))
struct ConnectionFailureTests {
    let mail: MailTestEnvironment
    let logger = MailTestEnvironment.logger

    init() throws {
        mail = try MailTestEnvironment.require()
    }

    func imapError(_ server: MailServer, login: Bool = true) async -> MailError? {
        await #expect(throws: MailError.self) {
            try await IMAPClient.withConnection(to: server, logger: self.logger) { client in
                if login { try await client.login() }
            }
        }
    }

    @Test("no trusted CA: tls_failed on 993 and after STARTTLS on 143, and on SMTP 465 and 587")
    func untrustedCertificate() async throws {
        let user = mail.freshAddress()
        for server in [mail.imap(user, trustCA: false), mail.imap(user, port: 143, security: .starttls, trustCA: false)] {
            let error = await imapError(server)
            #expect(error?.code == .tlsFailed)
            #expect(error?.message.contains("not trusted") == true, "\(String(describing: error))")
        }
        for server in [mail.smtp(user, port: 465, security: .tls, trustCA: false), mail.smtp(user, trustCA: false)] {
            let error = await #expect(throws: MailError.self) {
                try await SMTPClient.withConnection(to: server, logger: self.logger) { try await $0.login() }
            }
            #expect(error?.code == .tlsFailed)
        }
    }

    @Test("the certificate is checked against the name: localhost (a DNS SAN) passes; TLS spoken to a plain port fails as tls_failed")
    func names() async throws {
        var server = mail.imap(mail.freshAddress())
        server.host = "localhost"
        try await IMAPClient.withConnection(to: server, logger: logger) { try await $0.login() }
        let plainPort = await imapError(mail.imap(mail.freshAddress(), port: 143, security: .tls))
        #expect(plainPort?.code == .tlsFailed)
        #expect(plainPort?.message.contains("TLS") == true, "\(String(describing: plainPort))")
        let garbage = await imapError(MailServer(host: mail.host, port: 993, security: .tls, username: "u", password: "p",
                                                 trustedCAPEM: "-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----"))
        #expect(garbage?.code == .tlsFailed)
    }

    @Test("a trusted certificate for another name is tls_failed, for an IP host (IP SANs) and a host name alike", .blocking)
    func wrongName() async throws {
        let server = try WrongNameTLSServer()
        defer { server.stop() }
        for host in ["127.0.0.1", "localhost"] {
            let error = await imapError(MailServer(host: host, port: server.port, security: .tls, username: "u", password: "p",
                                                   trustedCAPEM: server.caPEM, connectTimeout: .seconds(5), commandTimeout: .seconds(5)))
            #expect(error?.code == .tlsFailed)
            #expect(error?.message.contains("not valid for \(host)") == true, "\(String(describing: error))")
        }
    }

    @Test("a closed port is unreachable; an unknown host name is unreachable")
    func unreachable() async throws {
        let port = try closedPort()
        let closed = await imapError(MailServer(host: "127.0.0.1", port: port, security: .tls, username: "u", password: "p"))
        #expect(closed?.code == .unreachable)
        #expect(closed?.message.contains("refused") == true)
        let unknown = await imapError(MailServer(host: "no-such-host.invalid", port: 993, security: .tls, username: "u", password: "p"))
        #expect(unknown?.code == .unreachable)
        #expect(unknown?.message.contains("could not be resolved") == true, "\(String(describing: unknown))")
    }

    @Test("a server that accepts but never greets, and a connect nobody answers, both time out within their time-outs")
    func timeouts() async throws {
        let listener = try SilentListener()
        let full = try SilentListener()
        defer {
            listener.close()
            full.close()
        }
        var server = MailServer(host: "127.0.0.1", port: listener.port, security: .none, username: "u", password: "p",
                                connectTimeout: .seconds(1), commandTimeout: .seconds(1))
        var started = ContinuousClock.now
        let silent = await imapError(server)
        #expect(silent?.code == .timeout)
        #expect(silent?.message.contains("greeting") == true, "\(String(describing: silent))")
        // Bounded by the 1-s deadlines, not the 30-s defaults (with room for a loaded machine).
        #expect(ContinuousClock.now - started < .seconds(10))

        try full.fillBacklog()
        server.port = full.port
        server.security = .tls
        started = ContinuousClock.now
        let unanswered = await imapError(server)
        #expect(unanswered?.code == .timeout)
        #expect(unanswered?.message.contains("could not connect") == true, "\(String(describing: unanswered))")
        #expect(ContinuousClock.now - started < .seconds(10))
    }

    @Test("an SMTP server on the IMAP side (and the reverse) is a protocol_error")
    func wrongProtocol() async throws {
        let imapOnSMTP = await imapError(mail.relay())
        #expect(imapOnSMTP?.code == .protocolError)
        let smtpOnIMAP = await #expect(throws: MailError.self) {
            try await SMTPClient.withConnection(to: self.mail.imap("u", port: 143, security: .none), logger: self.logger) { _ in }
        }
        #expect(smtpOnIMAP?.code == .protocolError)
    }

    @Test("the probe: ok with both logins, then auth_failed, tls_failed, unreachable and timeout, never showing the password")
    func probe() async throws {
        let user = mail.freshAddress()
        let ok = await ConnectionProbe.check(imap: mail.imap(user), smtp: mail.smtp(user), logger: logger)
        #expect(ok.status == .ok)
        #expect(ok.imap.status == .ok && ok.smtp.status == .ok)
        #expect(ok.imap.capabilities.contains("IDLE"))
        #expect(ok.smtp.capabilities.contains("AUTH"))
        #expect(ok.imap.greeting == "Persona test IMAP ready.")
        print("probe ok in \(ok.durationMs) ms (IMAP \(ok.imap.durationMs), SMTP \(ok.smtp.durationMs))")

        let wrong = "probe-\(UUID().uuidString)"
        let denied = await ConnectionProbe.check(imap: mail.imap(user, password: wrong), smtp: mail.smtp(user, password: wrong), logger: logger)
        #expect(denied.status == .authFailed)
        #expect(denied.imap.status == .authFailed && denied.smtp.status == .authFailed)
        let encoded = String(decoding: try JSONEncoder().encode(denied), as: UTF8.self)
        #expect(!encoded.contains(wrong) && !encoded.contains(mail.password))

        let untrusted = await ConnectionProbe.check(imap: mail.imap(user, trustCA: false), smtp: mail.smtp(user), logger: logger)
        #expect(untrusted.status == .tlsFailed)
        #expect(untrusted.smtp.status == .ok)
        #expect(untrusted.message.hasPrefix("IMAP: "))

        let port = try closedPort()
        let closed = MailServer(host: "127.0.0.1", port: port, security: .tls, username: user, password: mail.password)
        let unreachable = await ConnectionProbe.check(imap: mail.imap(user), smtp: closed, logger: logger)
        #expect(unreachable.status == .unreachable)
        #expect(unreachable.message.hasPrefix("SMTP: "))

        let listener = try SilentListener()
        defer { listener.close() }
        let silent = MailServer(host: "127.0.0.1", port: listener.port, security: .none, username: user, password: mail.password,
                                connectTimeout: .seconds(1), commandTimeout: .seconds(1))
        let slow = await ConnectionProbe.check(imap: silent, smtp: mail.smtp(user), logger: logger)
        #expect(slow.status == .timeout)
        #expect(slow.durationMs < 4000)
    }
}
