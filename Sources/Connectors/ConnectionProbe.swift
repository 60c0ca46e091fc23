import Logging
import NIOCore
import NIOPosix

/// The outcome of a connection check, as `POST .../connectors/{id}/test` answers it.
package enum ProbeStatus: String, Sendable, Hashable, Codable {
    case ok
    case authFailed = "auth_failed"
    case tlsFailed = "tls_failed"
    case unreachable
    case timeout
    /// The server answered, but not as an IMAP/SMTP server should (a wrong port).
    case protocolError = "protocol_error"
    /// The server refused something other than the login (a temporary failure).
    case serverError = "server_error"

    init(_ code: MailError.Code) {
        switch code {
        case .authFailed: self = .authFailed
        case .tlsFailed: self = .tlsFailed
        case .unreachable: self = .unreachable
        case .timeout: self = .timeout
        case .protocolError: self = .protocolError
        default: self = .serverError
        }
    }
}

/// One server's part of a check.
package struct ServerProbeResult: Sendable, Hashable, Codable {
    package var status: ProbeStatus
    /// For a person: what worked, or what failed and why. Never contains the password.
    package var message: String
    /// The server's greeting text, when it greeted.
    package var greeting: String?
    /// IMAP capabilities after login, or SMTP EHLO keywords (sorted).
    package var capabilities: [String]
    package var durationMs: Int
}

/// The whole check: both servers, and the first failure's status (IMAP's before SMTP's).
package struct ProbeResult: Sendable, Hashable, Codable {
    package var status: ProbeStatus
    package var message: String
    package var imap: ServerProbeResult
    package var smtp: ServerProbeResult
    package var durationMs: Int
}

/// Checks a connector's settings for real: connects to both servers (at the same time), logs
/// in, and logs out. How long it may take is bounded by the servers' connect and command
/// time-outs.
package enum ConnectionProbe {
    package static func check(imap: MailServer, smtp: MailServer, group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
                              logger: Logger = Logger(label: "persona.connectors.probe")) async -> ProbeResult {
        let start = ContinuousClock.now
        async let imapResult = checkIMAP(imap, group: group, logger: logger)
        async let smtpResult = checkSMTP(smtp, group: group, logger: logger)
        let (imapOutcome, smtpOutcome) = await (imapResult, smtpResult)
        let failure = [("IMAP", imapOutcome), ("SMTP", smtpOutcome)].first { $0.1.status != .ok }
        return ProbeResult(status: failure?.1.status ?? .ok,
                           message: failure.map { "\($0.0): \($0.1.message)" } ?? "IMAP and SMTP logins succeeded",
                           imap: imapOutcome, smtp: smtpOutcome, durationMs: milliseconds(since: start))
    }

    /// Connects and logs in to an IMAP server, then logs out.
    package static func checkIMAP(_ server: MailServer, group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
                                  logger: Logger = Logger(label: "persona.connectors.probe")) async -> ServerProbeResult {
        let start = ContinuousClock.now
        var greeting: String?
        do {
            let client = try await IMAPClient.connect(to: server, group: group, logger: logger)
            greeting = await client.greeting
            do {
                try await client.login()
            } catch {
                await client.logout()
                throw error
            }
            let capabilities = await client.capabilities.sorted()
            await client.logout()
            return ServerProbeResult(status: .ok, message: "logged in to the IMAP server \(server.endpoint) as \(server.username)",
                                     greeting: greeting, capabilities: capabilities, durationMs: milliseconds(since: start))
        } catch {
            return failed(error, greeting: greeting, start: start, server: server, protocolName: "IMAP")
        }
    }

    /// Connects to an SMTP server, logs in (when a user name is set), then QUITs.
    package static func checkSMTP(_ server: MailServer, group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
                                  logger: Logger = Logger(label: "persona.connectors.probe")) async -> ServerProbeResult {
        let start = ContinuousClock.now
        var greeting: String?
        do {
            let client = try await SMTPClient.connect(to: server, group: group, logger: logger)
            greeting = await client.greeting
            do {
                try await client.login()
            } catch {
                await client.quit()
                throw error
            }
            let capabilities = await client.extensions.keys.sorted()
            await client.quit()
            let message = server.username.isEmpty
                ? "connected to the SMTP server \(server.endpoint) (no login configured)"
                : "logged in to the SMTP server \(server.endpoint) as \(server.username)"
            return ServerProbeResult(status: .ok, message: message, greeting: greeting, capabilities: capabilities,
                                     durationMs: milliseconds(since: start))
        } catch {
            return failed(error, greeting: greeting, start: start, server: server, protocolName: "SMTP")
        }
    }

    private static func failed(_ error: any Error, greeting: String?, start: ContinuousClock.Instant, server: MailServer,
                               protocolName: String) -> ServerProbeResult {
        let mailError = error as? MailError
            ?? MailError(.unreachable, error is CancellationError ? "the check was cancelled" : "the \(protocolName) check of \(server.endpoint) failed")
        return ServerProbeResult(status: ProbeStatus(mailError.code), message: redacted(mailError.message, server.password),
                                 greeting: greeting, capabilities: [], durationMs: milliseconds(since: start))
    }

    /// No message we write contains the password; this also covers a server that echoes it.
    static func redacted(_ message: String, _ password: String) -> String {
        guard password.count >= 3 else { return message }
        return message.replacing(password, with: "<redacted>")
    }

    static func milliseconds(since start: ContinuousClock.Instant) -> Int {
        let elapsed = ContinuousClock.now - start
        return Int(elapsed.components.seconds * 1000 + elapsed.components.attoseconds / 1_000_000_000_000_000)
    }
}
