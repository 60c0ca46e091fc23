import Foundation
import Hummingbird
import PersonaKit
import PersonaStorage
import PersonaCore
import SQLKit

/// `/api/personas/{id}/connectors[/{connectorId}[/test]]`: a persona's email connectors (sealed
/// credentials, never returned) and read-only views of its browser and desktop. Viewers read,
/// editors change and test, strangers get 404; every change is audited.
struct ConnectorsController: Sendable {
    /// Connects and logs in to both servers of an email connector.
    typealias Tester = @Sendable (EmailConnectorConfig, EmailCredentials) async -> ConnectorTestResult

    let configuration: AppConfiguration
    let database: Database
    let secretBox: SecretBox
    let tester: Tester
    /// Wakes the trigger service when a connector changes.
    let changed: Wakeup
    let personas = PersonaRepository()
    let connectors = ConnectorRepository()
    let agents = AgentRepository()
    let audit = AuditRepository()
    let containers = ContainerRepository()
    let runtimes = RuntimeRepository()

    func addRoutes(to group: RouterGroup<AppRequestContext>) {
        group.get("{id}/connectors") { _, context in
            let (persona, _) = try await personas.requireVisible(context, minimum: .viewer, in: database)
            let (rows, views) = try await database.withConnection { db in
                (try await connectors.list(personaId: persona.id, on: db), try await runtimeViews(personaId: persona.id, on: db))
            }
            return try JSONResponse.data(rows.map(ConnectorDTO.init(email:)) + views)
        }
        group.post("{id}/connectors") { request, context in
            let (persona, _) = try await personas.requireVisible(context, minimum: .editor, in: database)
            let body = try await request.decodeJSON(CreateBody.self, limit: configuration.maxJSONBodySize)
            guard let kind = ConnectorKind(rawValue: body.kind) else {
                throw APIError.validation("kind must be email (browser and desktop are views of the persona's runtime)")
            }
            guard kind == .email else {
                throw APIError(.conflict, code: "read_only", "The \(kind.rawValue) connector is the persona's runtime: it is always there and read-only")
            }
            let record = try await newConnector(body, personaId: persona.id, createdBy: context.identity?.id)
            try await database.transaction { tx in
                guard try await connectors.count(personaId: persona.id, on: tx) < ConnectorRepository.maxPerPersona else {
                    throw APIError.unprocessable("A persona may have at most \(ConnectorRepository.maxPerPersona) connectors")
                }
                try await connectors.insert(record, on: tx)
                try await audit.insert(AuditEvent(context, type: "connector.created", category: "connector", description: "Connector created",
                                                  personaId: persona.id, metadata: auditMetadata(record)), on: tx)
            }
            changed.signal()
            return try JSONResponse.data(ConnectorDTO(email: record), status: .created)
        }
        group.get("{id}/connectors/{connectorId}") { _, context in
            let (persona, _) = try await personas.requireVisible(context, minimum: .viewer, in: database)
            let connectorId = try Self.connectorId(context)
            if let kind = ConnectorKind(rawValue: connectorId), kind != .email {
                let views = try await database.withConnection { try await runtimeViews(personaId: persona.id, on: $0) }
                guard let view = views.first(where: { $0.id == connectorId }) else { throw APIError.notFound("Connector") }
                return try JSONResponse.data(view)
            }
            return try JSONResponse.data(ConnectorDTO(email: try await load(connectorId, personaId: persona.id)))
        }
        group.patch("{id}/connectors/{connectorId}") { request, context in
            let (persona, _) = try await personas.requireVisible(context, minimum: .editor, in: database)
            let connectorId = try Self.connectorId(context)
            try Self.refuseView(connectorId)
            let current = try await load(connectorId, personaId: persona.id)
            let body = try await request.decodeJSON(UpdateBody.self, limit: configuration.maxJSONBodySize)
            let (updated, changes) = try await apply(body, to: current)
            let resetCursor = updated.trigger?.folder != current.trigger?.folder || updated.config.imap != current.config.imap
            try await database.transaction { tx in
                try await connectors.update(updated, resetCursor: resetCursor, on: tx)
                var metadata = auditMetadata(updated)
                metadata["changed"] = JSONValue.array(changes.map { .string($0) })
                try await audit.insert(AuditEvent(context, type: "connector.updated", category: "connector", description: "Connector updated",
                                                  personaId: persona.id, metadata: metadata), on: tx)
            }
            changed.signal()
            return try JSONResponse.data(ConnectorDTO(email: try await load(connectorId, personaId: persona.id)))
        }
        group.delete("{id}/connectors/{connectorId}") { _, context in
            let (persona, _) = try await personas.requireVisible(context, minimum: .editor, in: database)
            let connectorId = try Self.connectorId(context)
            try Self.refuseView(connectorId)
            let current = try await load(connectorId, personaId: persona.id)
            try await database.transaction { tx in
                guard try await connectors.delete(id: current.id, personaId: persona.id, on: tx) else { throw APIError.notFound("Connector") }
                try await audit.insert(AuditEvent(context, type: "connector.deleted", category: "connector", description: "Connector deleted",
                                                  personaId: persona.id, metadata: auditMetadata(current)), on: tx)
            }
            changed.signal()
            return JSONResponse.noContent()
        }
        group.post("{id}/connectors/{connectorId}/test") { _, context in
            let (persona, _) = try await personas.requireVisible(context, minimum: .editor, in: database)
            let connectorId = try Self.connectorId(context)
            try Self.refuseView(connectorId)
            let current = try await load(connectorId, personaId: persona.id)
            let credentials = try secretBox.credentials(of: current)
            let result = await tester(current.config, credentials)
            let now = Date()
            try await database.transaction { tx in
                try await connectors.setStatus(id: current.id, result.status, message: result.message, at: now, on: tx)
                try await audit.insert(AuditEvent(context, type: "connector.tested", category: "connector", description: "Connector tested",
                                                  personaId: persona.id,
                                                  metadata: ["connectorId": current.id, "status": result.status.rawValue]), on: tx)
            }
            return try JSONResponse.data(result)
        }
    }

    // MARK: - Loading and saving

    private func load(_ id: String, personaId: String) async throws -> ConnectorRecord {
        guard let record = try await database.withConnection({ try await connectors.find(id: id, personaId: personaId, on: $0) }) else {
            throw APIError.notFound("Connector")
        }
        return record
    }

    static func connectorId(_ context: AppRequestContext) throws -> String {
        let id = (context.parameters.get("connectorId") ?? "").lowercased()
        guard Identifier.isValid(id) || ConnectorKind(rawValue: id) != nil else { throw APIError.notFound("Connector") }
        return id
    }

    static func refuseView(_ id: String) throws {
        if let kind = ConnectorKind(rawValue: id), kind != .email {
            throw APIError(.conflict, code: "read_only", "The \(kind.rawValue) connector is a view of the persona's runtime: change it with PUT /api/personas/{id}/runtime")
        }
    }

    private func newConnector(_ body: CreateBody, personaId: String, createdBy: String?) async throws -> ConnectorRecord {
        let (imap, imapPassword) = try Self.newIMAP(body.imap?.value)
        let (smtp, smtpPassword) = try Self.newSMTP(body.smtp?.value, imap: imap, imapPassword: imapPassword)
        let fromAddress: String
        if let given = body.fromAddress {
            fromAddress = try Self.address(given, field: "fromAddress")
        } else if let configured = configuration.connectors.fromEmail {
            fromAddress = configured
        } else if let username = try? Self.address(imap.username, field: "imap.username") {
            fromAddress = username
        } else {
            throw APIError.validation("fromAddress is required (SMTP_FROM_EMAIL is not set and imap.username is not an address)")
        }
        let config = EmailConnectorConfig(
            imap: imap, smtp: smtp, fromAddress: fromAddress,
            fromName: try Self.displayName(body.fromName ?? configuration.connectors.fromName, field: "fromName"),
            folders: try Self.folders(body.folders?.value, current: .standard),
            caCertificate: try body.caCertificate.map(Self.certificate))
        let id = Identifier.make()
        var trigger: EmailTrigger?
        if let body = body.trigger?.value { trigger = try await self.trigger(body, personaId: personaId, folders: config.folders) }
        return ConnectorRecord(
            id: id, personaId: personaId, kind: .email, name: try Self.name(body.name), enabled: body.enabled ?? true, config: config,
            credentialsSealed: try secretBox.seal(EmailCredentials(imapPassword: imapPassword, smtpPassword: smtpPassword), personaId: personaId, connectorId: id),
            trigger: trigger, createdBy: createdBy, now: Date())
    }

    /// The PATCH merge; returns the new record and the names of what changed (for the audit
    /// log: which passwords changed, never their values).
    private func apply(_ body: UpdateBody, to current: ConnectorRecord) async throws -> (ConnectorRecord, [String]) {
        var record = current
        var changes: [String] = []
        if let name = body.name { record.name = try Self.name(name) }
        if let enabled = body.enabled { record.enabled = enabled }
        record.config.imap = try Self.merged(current.config.imap, body.imap?.value, field: "imap", smtp: false)
        record.config.smtp = try Self.merged(current.config.smtp, body.smtp?.value, field: "smtp", smtp: true)
        if let address = body.fromAddress { record.config.fromAddress = try Self.address(address, field: "fromAddress") }
        if let name = body.fromName { record.config.fromName = try Self.displayName(name, field: "fromName") }
        record.config.folders = try Self.folders(body.folders?.value, current: current.config.folders)
        record.config.caCertificate = try body.caCertificate.apply(to: current.config.caCertificate).map(Self.certificate)
        switch body.trigger {
        case .unchanged: break
        case .clear: record.trigger = nil
        case .set(let trigger): record.trigger = try await self.trigger(trigger.value, personaId: current.personaId, folders: record.config.folders)
        }
        if body.imap?.value.password != nil || body.smtp?.value.password != nil {
            var credentials = try secretBox.credentials(of: current)
            if let password = body.imap?.value.password {
                credentials.imapPassword = try Self.password(password, field: "imap")
                changes.append("imap.password")
            }
            if let password = body.smtp?.value.password {
                credentials.smtpPassword = try Self.password(password, field: "smtp")
                changes.append("smtp.password")
            }
            record.credentialsSealed = try secretBox.seal(credentials, personaId: current.personaId, connectorId: current.id)
        }
        if record.name != current.name { changes.append("name") }
        if record.enabled != current.enabled { changes.append("enabled") }
        if record.config.imap != current.config.imap { changes.append("imap") }
        if record.config.smtp != current.config.smtp { changes.append("smtp") }
        if record.config.fromAddress != current.config.fromAddress || record.config.fromName != current.config.fromName { changes.append("from") }
        if record.config.folders != current.config.folders { changes.append("folders") }
        if record.config.caCertificate != current.config.caCertificate { changes.append("caCertificate") }
        if record.trigger != current.trigger { changes.append("trigger") }
        record.updatedAt = Date()
        return (record, changes.sorted())
    }

    private func trigger(_ body: TriggerBody, personaId: String, folders: EmailFolders) async throws -> EmailTrigger {
        let agentId = body.agentId.lowercased()
        guard Identifier.isValid(agentId),
              let agent = try await database.withConnection({ try await agents.find(id: agentId, on: $0) }), agent.personaId == personaId
        else { throw APIError.unprocessable("trigger.agentId is not an agent of this persona") }
        let action: EmailTrigger.Action
        if let text = body.action {
            guard let parsed = EmailTrigger.Action(rawValue: text) else { throw APIError.validation("trigger.action must be markSeen or move") }
            action = parsed
        } else {
            action = .markSeen
        }
        let folder = try Self.folder(body.folder ?? folders.inbox, field: "trigger.folder")
        let moveTo = try body.moveTo.map { try Self.folder($0, field: "trigger.moveTo") } ?? (action == .move ? folders.archive : nil)
        if action == .move, moveTo == folder { throw APIError.validation("trigger.moveTo must differ from trigger.folder") }
        if action == .markSeen, body.moveTo != nil { throw APIError.validation("trigger.moveTo is only for the move action") }
        let filter = EmailTrigger.Filter(
            unseenOnly: body.filter?.value.unseenOnly ?? true,
            fromContains: try Self.filterText(body.filter?.value.fromContains, field: "trigger.filter.fromContains"),
            subjectContains: try Self.filterText(body.filter?.value.subjectContains, field: "trigger.filter.subjectContains"))
        return EmailTrigger(agentId: agent.id, folder: folder, filter: filter, action: action, moveTo: moveTo)
    }

    private func auditMetadata(_ record: ConnectorRecord) -> [String: any JSONValueConvertible] {
        ["connectorId": record.id, "kind": record.kind.rawValue, "name": record.name,
         "imapHost": record.config.imap.host, "smtpHost": record.config.smtp.host,
         "trigger": record.trigger != nil, "enabled": record.enabled]
    }

    // MARK: - Runtime views

    /// The browser and desktop as connectors: whether the persona's image has them and what the
    /// supervisor last reported of each sidecar.
    private func runtimeViews(personaId: String, on db: any SQLDatabase) async throws -> [ConnectorDTO] {
        let runtime = try await runtimes.find(personaId: personaId, on: db)
        let container = try await containers.find(personaId: personaId, on: db)
        let sidecars = container?.heartbeat?.sidecars ?? []
        return [ConnectorKind.browser, .desktop].map { kind in
            let sidecar = sidecars.first { $0.name == kind.rawValue }
            let state: String
            if runtime.image != .desktop {
                state = "unavailable"
            } else if container?.state != .ready {
                state = container?.state == .paused ? "paused" : "stopped"
            } else {
                state = sidecar?.state ?? "stopped"
            }
            let message = runtime.image != .desktop
                ? "The persona runs the standard image; the \(kind.rawValue) needs runtime image desktop"
                : sidecar?.detail
            return ConnectorDTO(view: kind, personaId: personaId, state: state, message: message, runtime: runtime, sidecar: sidecar)
        }
    }
}
