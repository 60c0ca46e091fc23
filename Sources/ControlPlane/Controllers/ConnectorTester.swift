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
            MailServer(endpoint, password: password, trustedCAPEM: config.caCertificate, connectTimeout: timeout, commandTimeout: timeout)
        }
        let probe = await ConnectionProbe.check(imap: server(config.imap, password: credentials.imapPassword),
                                                smtp: server(config.smtp, password: credentials.smtpPassword), logger: logger)
        func part(_ result: ServerProbeResult) -> ConnectorTestResult.Server {
            ConnectorTestResult.Server(status: ConnectorStatus(result.status), message: result.message, durationMs: result.durationMs)
        }
        return ConnectorTestResult(status: ConnectorStatus(probe.status), message: probe.message, imap: part(probe.imap),
                                   smtp: part(probe.smtp), durationMs: probe.durationMs)
    }
}
