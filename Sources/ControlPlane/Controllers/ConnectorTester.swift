import Foundation
import PersonaStorage

/// WIP: replaced by the Connectors probe.
struct ConnectorTester: Sendable {
    let settings: ConnectorSettings

    func test(_ config: EmailConnectorConfig, _ credentials: EmailCredentials) async -> ConnectorTestResult {
        let server = ConnectorTestResult.Server(status: .error, message: "not wired", durationMs: 0)
        return ConnectorTestResult(status: .error, message: "not wired", imap: server, smtp: server, durationMs: 0)
    }
}
