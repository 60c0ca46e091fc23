/// Where and how to reach one mail server (an IMAP or an SMTP endpoint), with the account's
/// credentials. Certificates are always verified, against the system's roots plus
/// `trustedCAPEM` when given; the name checked is `host` (an IP address is checked against
/// the certificate's IP SANs).
///
/// Its descriptions never show the password.
package struct MailServer: Sendable, Hashable, CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    /// How the connection is secured.
    package enum Security: String, Sendable, Hashable, Codable, CaseIterable {
        /// TLS from the first byte (IMAPS 993, SMTPS 465).
        case tls
        /// A plain connection upgraded with STARTTLS before logging in (IMAP 143, submission 587);
        /// a server that does not offer STARTTLS fails with `tls_failed`.
        case starttls
        /// No TLS at all. The server decides whether it accepts a login in the clear.
        case none
    }

    package var host: String
    package var port: Int
    package var security: Security
    /// Empty for an SMTP relay that needs no login (`SMTPClient.login()` then does nothing).
    package var username: String
    package var password: String
    /// One or more PEM certificates trusted in addition to the system's roots (a company or
    /// test CA).
    package var trustedCAPEM: String?
    /// Time to open the TCP connection, and then to receive the greeting (which, with `.tls`,
    /// includes the handshake).
    package var connectTimeout: Duration
    /// Longest wait for the server without progress while a command is answered (a large
    /// message that keeps arriving never times out).
    package var commandTimeout: Duration

    package init(host: String, port: Int, security: Security, username: String, password: String,
                 trustedCAPEM: String? = nil, connectTimeout: Duration = .seconds(10),
                 commandTimeout: Duration = .seconds(30)) {
        self.host = host
        self.port = port
        self.security = security
        self.username = username
        self.password = password
        self.trustedCAPEM = trustedCAPEM
        self.connectTimeout = connectTimeout
        self.commandTimeout = commandTimeout
    }

    /// `host:port`, as messages name the server.
    package var endpoint: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }

    package var description: String {
        "MailServer(\(endpoint), \(security.rawValue), user: \(username), password: <redacted>)"
    }

    package var debugDescription: String { description }

    /// `dump` and debuggers see every field but the password.
    package var customMirror: Mirror {
        Mirror(self, children: ["host": host, "port": port, "security": security, "username": username,
                                "password": "<redacted>", "trustedCAPEM": trustedCAPEM as Any,
                                "connectTimeout": connectTimeout, "commandTimeout": commandTimeout])
    }
}
