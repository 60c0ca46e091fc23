import PersonaStorage

extension MailServer {
    /// A stored connector's server (`imap` or `smtp` of its config) with its password and the
    /// connector's CA.
    package init(_ endpoint: MailEndpoint, password: String, trustedCAPEM: String?, connectTimeout: Duration, commandTimeout: Duration) {
        self.init(host: endpoint.host, port: endpoint.port, security: Security(rawValue: endpoint.security.rawValue) ?? .tls,
                  username: endpoint.username, password: password, trustedCAPEM: trustedCAPEM,
                  connectTimeout: connectTimeout, commandTimeout: commandTimeout)
    }
}

extension ConnectorStatus {
    /// What a connection check or a trigger's failure shows on the connector.
    package init(_ probe: ProbeStatus) {
        switch probe {
        case .ok: self = .ok
        case .authFailed: self = .authFailed
        case .tlsFailed: self = .tlsFailed
        case .unreachable: self = .unreachable
        case .timeout: self = .timeout
        case .protocolError, .serverError: self = .error
        }
    }

    package init(_ code: MailError.Code) {
        self.init(ProbeStatus(code))
    }
}
