import PersonaCore

/// The connectors' one error: a mail server could not be reached, refused the credentials,
/// failed the TLS handshake, did not answer in time, or answered something we cannot use.
///
/// `message` is written for a person and never contains a password (no command line that
/// carries credentials is ever quoted in it); `underlying` is for the log only.
package struct MailError: Error, Sendable, CustomStringConvertible {
    /// Stable snake_case codes (PersonaCore's ``ErrorCode`` convention).
    package struct Code: ErrorCode {
        package let rawValue: String
        package init(rawValue: String) { self.rawValue = rawValue }

        /// The server refused the user name or password (IMAP `NO` to LOGIN/AUTHENTICATE,
        /// SMTP 535), or offers no way to log in on this connection.
        package static let authFailed: Code = "auth_failed"
        /// The TLS handshake failed: an untrusted, expired or wrongly named certificate, no
        /// common protocol version, or STARTTLS not offered.
        package static let tlsFailed: Code = "tls_failed"
        /// No connection: refused, no route, unknown host, or closed by the server.
        package static let unreachable: Code = "unreachable"
        /// The connection or an answer did not come within its deadline.
        package static let timeout: Code = "timeout"
        /// The server answered something that is not the protocol we speak.
        package static let protocolError: Code = "protocol_error"
        /// The server refused a command (IMAP `NO`/`BAD`, an SMTP 4xx/5xx); the message
        /// carries the server's text.
        package static let serverError: Code = "server_error"
        /// The folder (mailbox) does not exist.
        package static let notFound: Code = "not_found"
    }

    package var code: Code
    package var message: String
    /// What went wrong underneath, for `String(reflecting:)` in the log.
    package var underlying: (any Error & Sendable)?

    package init(_ code: Code, _ message: String, underlying: (any Error & Sendable)? = nil) {
        self.code = code
        self.message = message
        self.underlying = underlying
    }

    package var description: String {
        "MailError(\(code)): \(message)" + (underlying.map { " (\(String(reflecting: $0)))" } ?? "")
    }
}
