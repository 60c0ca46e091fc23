import Foundation
import Logging
import PersonaCore
import PersonaKit
import PersonaStorage
import SQLKit

/// One triggered connector's loop: connect, log in, select the folder, start runs for what is
/// new, wait (IDLE or a poll), again; on a failure back off and show it on the connector.
struct EmailTriggerLoop: Sendable {
    let connectorId: String
    let service: EmailTriggerService
    var database: Database { service.database }
    var settings: EmailTriggerSettings { service.settings }
    var logger: Logger { service.logger }
    let connectors = ConnectorRepository()
    let runs = RunRepository()
    let audit = AuditRepository()

    func run() async {
        var failures = 0
        while !Task.isCancelled {
            do {
                try await session(failures: &failures)
                return
            } catch {
                if Task.isCancelled || error is CancellationError { return }
                failures += 1
                let delay = backoff(failures)
                let mail = error as? MailError
                let message = mail?.message ?? "The trigger failed: \(error)"
                logger.warning("email trigger failed", metadata: [
                    "connector_id": "\(connectorId)", "failures": "\(failures)", "retry_in_s": "\(delay.components.seconds)",
                    "error": "\(String(reflecting: error))",
                ])
                let status = mail.map { ConnectorStatus($0.code) } ?? .error
                let failed = failures
                try? await database.withConnection { db in
                    try await connectors.setTriggerState(id: connectorId, state: "backoff", message: message, failures: failed,
                                                         retryAt: Date().addingTimeInterval(Double(delay.components.seconds)),
                                                         seenAt: nil, on: db)
                    try await connectors.setStatus(id: connectorId, status, message: message, at: Date(), on: db)
                }
                try? await Task.sleep(for: delay)
            }
        }
    }

    func backoff(_ failures: Int) -> Duration {
        let factor = 1 << min(failures - 1, 20)
        let delay = settings.backoffBase * factor
        return delay > settings.backoffMax ? settings.backoffMax : delay
    }

    /// Loads the connector (gone, disabled or without a trigger: returns), opens its
    /// credentials and serves its folder until cancelled or a failure.
    private func session(failures: inout Int) async throws {
        guard let record = try await database.withConnection({ try await connectors.find(id: connectorId, on: $0) }),
              record.enabled, let trigger = record.trigger else { return }
        let credentials = try service.secretBox.credentials(of: record)
        let server = MailServer(record.config.imap, password: credentials.imapPassword, trustedCAPEM: record.config.caCertificate,
                                connectTimeout: settings.connectTimeout, commandTimeout: settings.commandTimeout)
        try await setState("starting", message: nil, failures: failures)
        let client = try await IMAPClient.connect(to: server, logger: logger)
        do {
            try await client.login()
            let status = try await client.select(trigger.folder)
            var cursor = try await place(record: record, current: record.triggerCursor, trigger: trigger, status: status, client: client)
            let capabilities = await client.capabilities
            let idles = settings.mode == .auto && capabilities.contains("IDLE")
            while !Task.isCancelled {
                // Again until a pass finds nothing: a message that arrived during a pass was
                // announced (EXISTS) in the answer to one of its commands, which IDLE never sees.
                while try await pass(record: record, trigger: trigger, cursor: &cursor, client: client) > 0 {}
                failures = 0
                try await setState(idles ? "idle" : "polling", message: nil, failures: 0, seenAt: Date())
                if idles, case .changed = try await client.idle(timeout: settings.idleRenewal) { continue }
                if !idles { try await Task.sleep(for: settings.pollInterval) }
                // A poll, or an IDLE that saw nothing for a while: select the folder again, which
                // also notices a folder made anew (a changed UIDVALIDITY; an idler is not told).
                let again = try await client.select(trigger.folder)
                if Int64(again.uidValidity) != cursor.uidValidity {
                    cursor = try await place(record: record, current: cursor, trigger: trigger, status: again, client: client)
                }
            }
            await client.logout()
        } catch {
            await client.close()
            throw error
        }
    }

    /// Where to read from: the stored cursor, or (first sight, another folder) the folder's next
    /// UID, so mail already there starts nothing; after a UIDVALIDITY change, the first message
    /// of the last day the trigger read.
    private func place(record: ConnectorRecord, current: TriggerCursor?, trigger: EmailTrigger, status: MailboxStatus,
                       client: IMAPClient) async throws -> TriggerCursor {
        let validity = Int64(status.uidValidity)
        if let cursor = current, cursor.folder == trigger.folder, cursor.uidValidity == validity {
            return cursor
        }
        var cursor = TriggerCursor(folder: trigger.folder, uidValidity: validity, uidNext: Int64(status.uidNext))
        if let old = current, old.folder == trigger.folder {
            let seenAt = try await database.withConnection { try await connectors.find(id: record.id, on: $0) }?.triggerSeenAt
            let since = seenAt ?? record.updatedAt
            let recent = try await client.uidSearch([.since(since)])
            if let first = recent.min() { cursor.uidNext = Int64(first) }
            logger.notice("email trigger: UIDVALIDITY changed, reading again from the last day's mail", metadata: [
                "connector_id": "\(record.id)", "old": "\(old.uidValidity)", "new": "\(validity)", "from_uid": "\(cursor.uidNext)",
            ])
        }
        let final = cursor
        try await database.withConnection { try await connectors.setCursor(id: record.id, final, on: $0) }
        return cursor
    }

    /// Finishes what a stop interrupted, then starts a run for each new matching message;
    /// returns how many new messages it found.
    private func pass(record: ConnectorRecord, trigger: EmailTrigger, cursor: inout TriggerCursor, client: IMAPClient) async throws -> Int {
        let place = cursor
        let pending = try await database.withConnection {
            try await connectors.pendingActions(connectorId: record.id, folder: place.folder, uidValidity: place.uidValidity, on: $0)
        }
        if !pending.isEmpty {
            try await act(trigger, on: pending.map { UInt32(clamping: $0) }, client: client)
            try await markDone(record, cursor, pending)
        }
        var keys: [SearchKey] = [.uids(from: UInt32(clamping: cursor.uidNext), through: nil), .undeleted]
        if trigger.filter.unseenOnly { keys.append(.unseen) }
        if let from = trigger.filter.fromContains { keys.append(.from(from)) }
        if let subject = trigger.filter.subjectContains { keys.append(.subject(subject)) }
        let uids = try await client.uidSearch(keys).filter { Int64($0) >= cursor.uidNext }.sorted().prefix(settings.batchLimit)
        for uid in uids {
            try Task.checkCancellation()
            guard let message = try await client.uidFetchMessage(uid) else { continue }  // expunged meanwhile
            let input = TriggerInput(raw: message.raw, connectorName: record.name, folder: cursor.folder, uid: uid,
                                     maxBodyCharacters: settings.maxBodyCharacters)
            var next = cursor
            next.uidNext = Int64(uid) + 1
            let started = try await start(record: record, trigger: trigger, input: input, uid: uid, cursor: next)
            cursor = next
            if started {
                service.runWakeUp.signal()
                database.eventsWritten.signal()
            }
            try await act(trigger, on: [uid], client: client)
            try await markDone(record, cursor, [Int64(uid)])
        }
        return uids.count
    }

    /// Queues the message's run, records the message and moves the cursor, in one transaction.
    /// Returns false (moving only the cursor) for a message that already started a run, also
    /// when another control plane recorded it in the same instant (the message's key is unique).
    private func start(record: ConnectorRecord, trigger: EmailTrigger, input: TriggerInput, uid: UInt32, cursor: TriggerCursor) async throws -> Bool {
        do {
            return try await queue(record: record, trigger: trigger, input: input, uid: uid, cursor: cursor)
        } catch let error as StorageError where error.code == .conflict {
            logger.info("email trigger: the message was recorded by another control plane", metadata: [
                "connector_id": "\(record.id)", "uid": "\(uid)"])
            return false
        }
    }

    private func queue(record: ConnectorRecord, trigger: EmailTrigger, input: TriggerInput, uid: UInt32, cursor: TriggerCursor) async throws -> Bool {
        try await database.transaction { tx in
            if try await connectors.hasMessage(connectorId: record.id, folder: cursor.folder, uidValidity: cursor.uidValidity,
                                               uid: Int64(uid), messageId: input.messageId, on: tx) {
                try await connectors.setCursor(id: record.id, cursor, on: tx)
                return false
            }
            let now = Date()
            let run = Run(id: Identifier.make(), personaId: record.personaId, agentId: trigger.agentId, createdBy: nil,
                          input: input.text, trace: .newRoot(), now: now)
            try await runs.insert(run, on: tx)
            try await runs.appendEvent(runId: run.id, type: "status", data: ["status": "queued"], now: now, on: tx)
            try await connectors.recordMessage(connectorId: record.id, folder: cursor.folder, uidValidity: cursor.uidValidity,
                                               uid: Int64(uid), messageId: input.messageId, runId: run.id, now: now, on: tx)
            try await connectors.setCursor(id: record.id, cursor, on: tx)
            try await audit.insert(AuditEvent(
                userId: nil, personaId: record.personaId, runId: run.id, traceId: run.traceId, eventType: "run.created",
                eventCategory: "run", description: "Run queued by an email trigger",
                metadata: ["runId": .string(run.id), "agentId": .string(trigger.agentId), "connectorId": .string(record.id),
                           "trigger": "email", "uid": .number(Double(uid))]), on: tx)
            return true
        }
    }

    /// Marks the messages seen or moves them (creating the target folder when it is missing).
    private func act(_ trigger: EmailTrigger, on uids: [UInt32], client: IMAPClient) async throws {
        switch trigger.action {
        case .markSeen:
            try await client.uidStore(uids, .add, flags: ["\\Seen"])
        case .move:
            let target = trigger.moveTo ?? "Archive"
            do {
                try await client.uidMove(uids, to: target)
            } catch let error as MailError where error.code == .notFound || error.code == .serverError {
                try? await client.createFolder(target)
                try await client.uidMove(uids, to: target)
            }
        }
    }

    private func markDone(_ record: ConnectorRecord, _ cursor: TriggerCursor, _ uids: [Int64]) async throws {
        try await database.withConnection {
            try await connectors.markActionDone(connectorId: record.id, folder: cursor.folder, uidValidity: cursor.uidValidity,
                                                uids: uids, now: Date(), on: $0)
        }
    }

    private func setState(_ state: String, message: String?, failures: Int, seenAt: Date? = nil) async throws {
        try await database.withConnection { db in
            try await connectors.setTriggerState(id: connectorId, state: state, message: message, failures: failures, retryAt: nil,
                                                 seenAt: seenAt, on: db)
            if seenAt != nil, failures == 0 {
                try await connectors.setStatus(id: connectorId, .ok, message: "Watching", at: Date(), on: db)
            }
        }
    }
}
