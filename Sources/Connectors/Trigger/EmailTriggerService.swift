import Foundation
import Logging
import PersonaCore
import PersonaKit
import PersonaStorage
import ServiceLifecycle
import SQLKit

/// Starts a run for each new message that arrives in a triggered email connector's folder:
/// one loop per enabled connector with a trigger, waiting with IMAP IDLE when the server offers
/// it and polling otherwise, backing off when the server fails.
///
/// Exactly once: a message's run is queued in the same transaction that records the message
/// (connector, folder, UIDVALIDITY, UID) and moves the connector's cursor past it, so a process
/// killed at any point neither loses the message nor queues a second run for it. Marking it seen
/// or moving it comes after the commit; a message recorded without that is finished on the next
/// start. A changed UIDVALIDITY starts again from the messages of the last day the trigger read,
/// skipping those whose Message-ID already started a run.
package final class EmailTriggerService: Service, Sendable {
    let database: Database
    let secretBox: SecretBox
    let settings: EmailTriggerSettings
    let startup: Gate
    /// Signalled when a connector is created, changed or deleted in this process.
    let changed: Wakeup
    /// Wakes the run worker when a run is queued.
    let runWakeUp: Wakeup
    let logger: Logger
    let connectors = ConnectorRepository()

    package init(database: Database, secretBox: SecretBox, settings: EmailTriggerSettings, startup: Gate, changed: Wakeup,
                 runWakeUp: Wakeup, logger: Logger) {
        self.database = database
        self.secretBox = secretBox
        self.settings = settings
        self.startup = startup
        self.changed = changed
        self.runWakeUp = runWakeUp
        self.logger = logger
    }

    package func run() async throws {
        await startup.wait()
        // Each loop is owned here: cancelled when its connector changes or goes, awaited before
        // this returns.
        var loops: [String: (version: Date, task: Task<Void, Never>)] = [:]
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            do {
                let records = try await database.withConnection { try await self.connectors.triggered(on: $0) }
                let wanted = Dictionary(records.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
                for (id, loop) in loops where wanted[id]?.updatedAt != loop.version {
                    loop.task.cancel()
                    await loop.task.value
                    loops[id] = nil
                }
                for record in records where loops[record.id] == nil {
                    let loop = EmailTriggerLoop(connectorId: record.id, service: self)
                    loops[record.id] = (record.updatedAt, Task { await loop.run() })
                }
            } catch {
                logger.warning("email triggers: reading the connectors failed", metadata: ["error": "\(String(reflecting: error))"])
            }
            try? await cancelWhenGracefulShutdown { await self.changed.wait(upTo: self.settings.rescanInterval) }
        }
        for loop in loops.values { loop.task.cancel() }
        for loop in loops.values { await loop.task.value }
    }
}
