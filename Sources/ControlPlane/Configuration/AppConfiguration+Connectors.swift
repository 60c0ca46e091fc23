import Connectors
import Foundation
import PersonaCore

/// Connectors: the default sender of new email connectors (`SMTP_FROM_EMAIL`, `SMTP_FROM_NAME`,
/// as in the seed) and the email tools' limits, which reach the tools with the credentials.
public struct ConnectorSettings: Sendable {
    /// The sender address a new email connector gets when its body names none.
    public var fromEmail: String?
    public var fromName = "Persona Platform"
    /// `EMAIL_MAX_MESSAGE_MB`: the largest message `email_send` builds (attachments included).
    public var maxMessageBytes = 25 * 1_048_576
    /// `EMAIL_MAX_ATTACHMENTS`, `EMAIL_MAX_ATTACHMENT_MB`: per message sent, and per file.
    public var maxAttachments = 20
    public var maxAttachmentBytes = 20 * 1_048_576
    /// `EMAIL_MAX_RECIPIENTS`: to, cc and bcc together.
    public var maxRecipients = 50
    /// `CONNECTOR_TEST_TIMEOUT_SECONDS`: each server's connect-and-login in a connection test.
    public var testTimeoutSeconds = 15
    /// The email trigger service (`EMAIL_TRIGGER_MODE`, `EMAIL_POLL_SECONDS`).
    package var trigger = EmailTriggerSettings()

    public init() {}
}

extension AppConfiguration {
    mutating func loadConnectors(_ env: Environment) throws {
        if let address = env["SMTP_FROM_EMAIL"], !address.isEmpty {
            let parts = address.split(separator: "@", omittingEmptySubsequences: false)
            guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty, !address.contains(where: \.isWhitespace) else {
                throw ConfigurationError("SMTP_FROM_EMAIL must be an email address")
            }
            connectors.fromEmail = address
        }
        if let name = env["SMTP_FROM_NAME"], !name.isEmpty {
            guard name.count <= 200, !name.contains(where: \.isNewline) else {
                throw ConfigurationError("SMTP_FROM_NAME must be at most 200 characters on one line")
            }
            connectors.fromName = name
        }
        connectors.maxMessageBytes = try env.int("EMAIL_MAX_MESSAGE_MB", default: 25, range: 1...200) * 1_048_576
        connectors.maxAttachments = try env.int("EMAIL_MAX_ATTACHMENTS", default: connectors.maxAttachments, range: 0...500)
        connectors.maxAttachmentBytes = try env.int("EMAIL_MAX_ATTACHMENT_MB", default: 20, range: 1...200) * 1_048_576
        connectors.maxRecipients = try env.int("EMAIL_MAX_RECIPIENTS", default: connectors.maxRecipients, range: 1...1000)
        connectors.testTimeoutSeconds = try env.int("CONNECTOR_TEST_TIMEOUT_SECONDS", default: connectors.testTimeoutSeconds, range: 1...120)
        if let mode = env["EMAIL_TRIGGER_MODE"] {
            guard let parsed = EmailTriggerSettings.Mode(rawValue: mode.lowercased()) else {
                throw ConfigurationError("EMAIL_TRIGGER_MODE must be auto (IMAP IDLE when the server has it) or poll")
            }
            connectors.trigger.mode = parsed
        }
        connectors.trigger.pollInterval = .seconds(try env.int("EMAIL_POLL_SECONDS", default: 60, range: 1...86_400))
    }
}
