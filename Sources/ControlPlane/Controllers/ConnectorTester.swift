import Connectors
import Foundation
import Logging
import PersonaStorage

/// `POST .../connectors/{connectorId}/test`: connects and logs in to both servers of an email
/// connector at once (each within `CONNECTOR_TEST_TIMEOUT_SECONDS`), then logs out.
struct ConnectorTester: Sendable {
    let settings: ConnectorSettings
    var logger = Logger(label: "persona.connectors.test")

    func test(_ config: EmailConnectorConfig, _ credentials: EmailCredentials) async -> ConnectorTestResult {
        let timeout = Duration.seconds(settings.testTimeoutSeconds)
        func server(_ endpoint: MailEndpoint, password: String) -> MailServer {
            MailServer(host: endpoint.host, port: endpoint.port, security: MailServer.Security(rawValue: endpoint.security.rawValue) ?? .tls,
                       username: endpoint.username, password: password, trustedCAPEM: config.caCertificate,
                       connectTimeout: timeout, commandTimeout: timeout)
        }
        let probe = await ConnectionProbe.check(imap: server(config.imap, password: credentials.imapPassword),
                                                smtp: server(config.smtp, password: credentials.smtpPassword), logger: logger)
        func part(_ result: ServerProbeResult) -> ConnectorTestResult.Server {
            ConnectorTestResult.Server(status: Self.status(result.status), message: result.message, durationMs: result.durationMs)
        }
        return ConnectorTestResult(status: Self.status(probe.status), message: probe.message, imap: part(probe.imap),
                                   smtp: part(probe.smtp), durationMs: probe.durationMs)
    }

    static func status(_ status: ProbeStatus) -> ConnectorStatus {
        switch status {
        case .ok: .ok
        case .authFailed: .authFailed
        case .tlsFailed: .tlsFailed
        case .unreachable: .unreachable
        case .timeout: .timeout
        case .protocolError, .serverError: .error
        }
    }
}
