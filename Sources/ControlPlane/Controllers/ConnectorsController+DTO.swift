import Foundation
import PersonaKit
import PersonaStorage

/// A connector as the API shows it: every non-secret field; passwords only as `passwordSet`.
struct ConnectorDTO: Encodable, Sendable {
    struct Server: Encodable, Sendable {
        var host: String
        var port: Int
        var security: MailSecurity
        var username: String
        /// Always true: a stored server has a password, and it is never returned.
        var passwordSet = true
    }

    struct Status: Encodable, Sendable {
        /// `unknown`, `ok`, `auth_failed`, `tls_failed`, `unreachable`, `timeout` or `error` for an
        /// email connector (its last test); the sidecar's state for a runtime view.
        var state: String
        var message: String?
        var checkedAt: Date?
    }

    struct TriggerStatus: Encodable, Sendable {
        /// `starting`, `idle` (waiting with IMAP IDLE), `polling`, `backoff` (the server failed;
        /// `retryAt` says when it is tried again) or `stopped`; `pending` before the trigger
        /// service has picked it up.
        var state: String
        var message: String?
        var failures: Int
        var retryAt: Date?
        var lastCheckedAt: Date?
    }

    struct Runtime: Encodable, Sendable {
        var image: PersonaRuntime.Image
        var eager: Bool
        var browserHeaded: Bool
        var sidecar: SidecarHealth?
    }

    var id: String
    var personaId: String
    var kind: ConnectorKind
    var name: String
    var readOnly: Bool
    var enabled: Bool
    var imap: Server?
    var smtp: Server?
    var fromAddress: String?
    var fromName: String?
    var folders: EmailFolders?
    var caCertificate: String?
    var trigger: EmailTrigger?
    var status: Status
    var triggerStatus: TriggerStatus?
    var runtime: Runtime?
    var createdAt: Date?
    var updatedAt: Date?

    init(email record: ConnectorRecord) {
        id = record.id
        personaId = record.personaId
        kind = record.kind
        name = record.name
        readOnly = false
        enabled = record.enabled
        imap = Server(host: record.config.imap.host, port: record.config.imap.port, security: record.config.imap.security,
                      username: record.config.imap.username)
        smtp = Server(host: record.config.smtp.host, port: record.config.smtp.port, security: record.config.smtp.security,
                      username: record.config.smtp.username)
        fromAddress = record.config.fromAddress
        fromName = record.config.fromName
        folders = record.config.folders
        caCertificate = record.config.caCertificate
        trigger = record.trigger
        status = Status(state: record.status.rawValue, message: record.statusMessage, checkedAt: record.checkedAt)
        if record.trigger != nil {
            triggerStatus = TriggerStatus(state: record.enabled ? (record.triggerState ?? "pending") : "stopped",
                                          message: record.triggerMessage, failures: record.triggerFailures,
                                          retryAt: record.triggerRetryAt, lastCheckedAt: record.triggerSeenAt)
        }
        createdAt = record.createdAt
        updatedAt = record.updatedAt
    }

    init(view kind: ConnectorKind, personaId: String, state: String, message: String?, runtime: PersonaRuntime, sidecar: SidecarHealth?) {
        id = kind.rawValue
        self.personaId = personaId
        self.kind = kind
        name = kind == .browser ? "Browser" : "Desktop"
        readOnly = true
        enabled = runtime.image == .desktop
        status = Status(state: state, message: message, checkedAt: nil)
        self.runtime = Runtime(image: runtime.image, eager: runtime.eagerSidecars.contains(kind.rawValue),
                               browserHeaded: runtime.browserHeaded, sidecar: sidecar)
    }
}

/// What `POST .../connectors/{connectorId}/test` answers: the overall status (the first
/// server's failure, else `ok`) and each server's.
struct ConnectorTestResult: Encodable, Sendable {
    struct Server: Encodable, Sendable {
        var status: ConnectorStatus
        var message: String
        var durationMs: Int
    }

    var status: ConnectorStatus
    var message: String
    var imap: Server
    var smtp: Server
    var durationMs: Int
}
