import Foundation
import PersonaKit
import PersonaStorage
import SQLKit

/// The email connectors' credentials on the supervisor's secret channel: one JSON value under
/// ``EmailChannel/secretName``, which only the email tools declare, so the supervisor hands it to
/// those tool processes alone (never to its own environment, never to `docker inspect`).
enum EmailChannel {
    /// The secret name the email tools' manifests list (`"secrets": ["PERSONA_EMAIL_CONNECTORS"]`).
    static let secretName = "PERSONA_EMAIL_CONNECTORS"

    struct Server: Encodable {
        var host: String
        var port: Int
        var security: MailSecurity
        var username: String
        var password: String
    }

    struct Limits: Encodable {
        var maxMessageBytes: Int
        var maxAttachments: Int
        var maxAttachmentBytes: Int
        var maxRecipients: Int
    }

    struct Connector: Encodable {
        var id: String
        var name: String
        var imap: Server
        var smtp: Server
        var fromAddress: String
        var fromName: String
        var folders: EmailFolders
        var caCertificate: String?
        var limits: Limits
    }

    struct Value: Encodable {
        var connectors: [Connector]
    }

    /// The channel's value for `records` (enabled email connectors only), or `nil` when there are
    /// none. A connector whose credentials no longer open (a changed `ENCRYPTION_KEY`) is left
    /// out and named in `skipped`.
    static func value(_ records: [ConnectorRecord], secretBox: SecretBox, settings: ConnectorSettings) throws
        -> (json: String?, skipped: [String]) {
        var connectors: [Connector] = []
        var skipped: [String] = []
        for record in records where record.kind == .email && record.enabled {
            guard let credentials = try? secretBox.credentials(of: record) else {
                skipped.append(record.id)
                continue
            }
            let config = record.config
            connectors.append(Connector(
                id: record.id, name: record.name,
                imap: Server(host: config.imap.host, port: config.imap.port, security: config.imap.security,
                             username: config.imap.username, password: credentials.imapPassword),
                smtp: Server(host: config.smtp.host, port: config.smtp.port, security: config.smtp.security,
                             username: config.smtp.username, password: credentials.smtpPassword),
                fromAddress: config.fromAddress, fromName: config.fromName, folders: config.folders,
                caCertificate: config.caCertificate,
                limits: Limits(maxMessageBytes: settings.maxMessageBytes, maxAttachments: settings.maxAttachments,
                               maxAttachmentBytes: settings.maxAttachmentBytes, maxRecipients: settings.maxRecipients)))
        }
        guard !connectors.isEmpty else { return (nil, skipped) }
        return (try JSONCoding.encodeString(Value(connectors: connectors)), skipped)
    }
}
