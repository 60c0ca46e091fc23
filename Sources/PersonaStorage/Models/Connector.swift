import Foundation
import PersonaKit
import SQLKit

/// What a connector connects a persona to. `email` connectors are stored; `browser` and
/// `desktop` are read-only views of the persona's runtime (its sidecars), never rows.
public enum ConnectorKind: String, Codable, Sendable, CaseIterable {
    case email, browser, desktop
}

/// How a mail client talks to its server: implicit TLS, STARTTLS, or plain text.
public enum MailSecurity: String, Codable, Sendable, CaseIterable {
    case tls, starttls, none
}

/// One mail server of a connector, without its password.
public struct MailEndpoint: Codable, Sendable, Equatable {
    public var host: String
    public var port: Int
    public var security: MailSecurity
    public var username: String

    public init(host: String, port: Int, security: MailSecurity, username: String) {
        self.host = host
        self.port = port
        self.security = security
        self.username = username
    }
}

/// The folders the email tools and the trigger use by default.
public struct EmailFolders: Codable, Sendable, Equatable {
    public var inbox: String
    public var sent: String
    public var archive: String
    public var trash: String

    public static let standard = EmailFolders(inbox: "INBOX", sent: "Sent", archive: "Archive", trash: "Trash")

    public init(inbox: String, sent: String, archive: String, trash: String) {
        self.inbox = inbox
        self.sent = sent
        self.archive = archive
        self.trash = trash
    }
}

/// The non-secret settings of an email connector (`persona_connectors.config`).
public struct EmailConnectorConfig: Codable, Sendable, Equatable {
    public var imap: MailEndpoint
    public var smtp: MailEndpoint
    public var fromAddress: String
    public var fromName: String
    public var folders: EmailFolders
    /// A PEM certificate authority trusted in addition to the system's (a private mail server).
    public var caCertificate: String?

    public init(imap: MailEndpoint, smtp: MailEndpoint, fromAddress: String, fromName: String, folders: EmailFolders,
                caCertificate: String?) {
        self.imap = imap
        self.smtp = smtp
        self.fromAddress = fromAddress
        self.fromName = fromName
        self.folders = folders
        self.caCertificate = caCertificate
    }
}

/// An email connector's passwords: sealed together as one JSON value, never returned.
public struct EmailCredentials: Codable, Sendable, Equatable {
    public var imapPassword: String
    public var smtpPassword: String

    public init(imapPassword: String, smtpPassword: String) {
        self.imapPassword = imapPassword
        self.smtpPassword = smtpPassword
    }
}

/// Starts a run of `agentId` for each new message in `folder` that matches `filter`, then marks
/// it seen or moves it (`persona_connectors.trigger_config`).
public struct EmailTrigger: Codable, Sendable, Equatable {
    public enum Action: String, Codable, Sendable, CaseIterable {
        case markSeen, move
    }

    public struct Filter: Codable, Sendable, Equatable {
        /// Only messages without `\Seen`.
        public var unseenOnly: Bool
        public var fromContains: String?
        public var subjectContains: String?

        public init(unseenOnly: Bool = true, fromContains: String? = nil, subjectContains: String? = nil) {
            self.unseenOnly = unseenOnly
            self.fromContains = fromContains
            self.subjectContains = subjectContains
        }
    }

    public var agentId: String
    public var folder: String
    public var filter: Filter
    public var action: Action
    /// Where `move` puts a message (the connector's archive folder unless given).
    public var moveTo: String?

    public init(agentId: String, folder: String, filter: Filter, action: Action, moveTo: String?) {
        self.agentId = agentId
        self.folder = folder
        self.filter = filter
        self.action = action
        self.moveTo = moveTo
    }
}

/// The outcome of a connection test or of the trigger's last attempt.
public enum ConnectorStatus: String, Codable, Sendable, CaseIterable {
    /// Never tested.
    case unknown
    case ok
    case authFailed = "auth_failed"
    case tlsFailed = "tls_failed"
    case unreachable
    case timeout
    /// Anything else the server answered (a missing folder, a protocol error).
    case error
}

/// A row of `persona_connectors` (email connectors; credentials still sealed).
package struct ConnectorRecord: Sendable, Equatable {
    package var id: String
    package var personaId: String
    package var kind: ConnectorKind
    package var name: String
    package var enabled: Bool
    package var config: EmailConnectorConfig
    package var credentialsSealed: String
    package var trigger: EmailTrigger?
    package var status: ConnectorStatus
    package var statusMessage: String?
    package var checkedAt: Date?
    /// The trigger loop's state: `starting`, `idle` (IMAP IDLE), `polling`, `backoff`, `stopped`.
    package var triggerState: String?
    package var triggerMessage: String?
    package var triggerFailures: Int
    package var triggerRetryAt: Date?
    /// When the trigger last looked at the folder successfully.
    package var triggerSeenAt: Date?
    /// Where the trigger has read up to (all three `nil` until it first selects the folder).
    package var triggerCursor: TriggerCursor?
    package var createdBy: String?
    package var createdAt: Date
    package var updatedAt: Date

    /// The `SecretBox` name the credentials are sealed under (the row's id is authenticated).
    package static func credentialsName(connectorId: String) -> String { "connector/\(connectorId)" }

    package init(id: String, personaId: String, kind: ConnectorKind, name: String, enabled: Bool, config: EmailConnectorConfig,
                 credentialsSealed: String, trigger: EmailTrigger?, createdBy: String?, now: Date) {
        self.id = id
        self.personaId = personaId
        self.kind = kind
        self.name = name
        self.enabled = enabled
        self.config = config
        self.credentialsSealed = credentialsSealed
        self.trigger = trigger
        self.status = .unknown
        self.triggerFailures = 0
        self.createdBy = createdBy
        self.createdAt = now
        self.updatedAt = now
    }

    package init(row: any SQLRow) throws {
        id = try row.decode(column: "id", as: String.self)
        personaId = try row.decode(column: "persona_id", as: String.self)
        kind = ConnectorKind(rawValue: try row.decode(column: "kind", as: String.self)) ?? .email
        name = try row.decode(column: "name", as: String.self)
        enabled = try row.decode(column: "enabled", as: Bool.self)
        config = try JSONCoding.decode(EmailConnectorConfig.self, from: try row.decode(column: "config", as: String.self))
        credentialsSealed = try row.decode(column: "credentials", as: String.self)
        trigger = try row.decode(column: "trigger_config", as: String?.self).map { try JSONCoding.decode(EmailTrigger.self, from: $0) }
        status = ConnectorStatus(rawValue: try row.decode(column: "status", as: String.self)) ?? .unknown
        statusMessage = try row.decode(column: "status_message", as: String?.self)
        checkedAt = try row.decode(column: "checked_at", as: Date?.self)
        triggerState = try row.decode(column: "trigger_state", as: String?.self)
        triggerMessage = try row.decode(column: "trigger_message", as: String?.self)
        triggerFailures = try row.decode(column: "trigger_failures", as: Int.self)
        triggerRetryAt = try row.decode(column: "trigger_retry_at", as: Date?.self)
        triggerSeenAt = try row.decode(column: "trigger_seen_at", as: Date?.self)
        if let folder = try row.decode(column: "trigger_folder", as: String?.self),
           let validity = try row.decode(column: "trigger_uid_validity", as: Int64?.self),
           let next = try row.decode(column: "trigger_uid_next", as: Int64?.self) {
            triggerCursor = TriggerCursor(folder: folder, uidValidity: validity, uidNext: next)
        }
        createdBy = try row.decode(column: "created_by", as: String?.self)
        createdAt = try row.decode(column: "created_at", as: Date.self)
        updatedAt = try row.decode(column: "updated_at", as: Date.self)
    }
}

/// The email trigger's place in its folder: messages with a UID at or above `uidNext` (under this
/// UIDVALIDITY) have not been looked at yet.
package struct TriggerCursor: Sendable, Equatable {
    package var folder: String
    package var uidValidity: Int64
    package var uidNext: Int64

    package init(folder: String, uidValidity: Int64, uidNext: Int64) {
        self.folder = folder
        self.uidValidity = uidValidity
        self.uidNext = uidNext
    }
}
