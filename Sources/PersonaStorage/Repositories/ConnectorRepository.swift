import Foundation
import PersonaKit
import SQLKit

/// `persona_connectors` and `connector_trigger_messages` access. Credentials stay sealed here;
/// only the server's own code opens them (the supervisor's secret channel, the connection test
/// and the trigger).
package struct ConnectorRepository: Sendable {
    package static let maxPerPersona = 50

    package func insert(_ connector: ConnectorRecord, on db: any SQLDatabase) async throws {
        try await db.insert(into: "persona_connectors")
            .columns("id", "persona_id", "kind", "name", "enabled", "config", "credentials", "trigger_config", "status",
                     "trigger_failures", "created_by", "created_at", "updated_at")
            .values(SQLBind(connector.id), SQLBind(connector.personaId), SQLBind(connector.kind.rawValue), SQLBind(connector.name),
                    SQLBind(connector.enabled), SQLBind(try JSONCoding.encodeString(connector.config)),
                    SQLBind(connector.credentialsSealed), SQLBind(try connector.trigger.map { try JSONCoding.encodeString($0) }),
                    SQLBind(connector.status.rawValue), SQLBind(0), SQLBind(connector.createdBy),
                    SQLBind(connector.createdAt), SQLBind(connector.updatedAt))
            .run()
    }

    package func find(id: String, personaId: String, on db: any SQLDatabase) async throws -> ConnectorRecord? {
        try await db.select().column("*").from("persona_connectors").where("id", .equal, id)
            .where("persona_id", .equal, personaId).first().map(ConnectorRecord.init(row:))
    }

    package func find(id: String, on db: any SQLDatabase) async throws -> ConnectorRecord? {
        try await db.select().column("*").from("persona_connectors").where("id", .equal, id).first().map(ConnectorRecord.init(row:))
    }

    package func list(personaId: String, on db: any SQLDatabase) async throws -> [ConnectorRecord] {
        try await db.select().column("*").from("persona_connectors").where("persona_id", .equal, personaId)
            .orderBy("name").limit(Self.maxPerPersona).all().map(ConnectorRecord.init(row:))
    }

    package func count(personaId: String, on db: any SQLDatabase) async throws -> Int {
        try await db.select().column(SQLFunction("COUNT", args: SQLLiteral.all), as: "n").from("persona_connectors")
            .where("persona_id", .equal, personaId).first()?.decode(column: "n", as: Int.self) ?? 0
    }

    /// Every enabled connector with a trigger: what the trigger service watches.
    package func triggered(on db: any SQLDatabase) async throws -> [ConnectorRecord] {
        try await db.select().column("*").from("persona_connectors").where("enabled", .equal, true)
            .where(SQLColumn("trigger_config"), .isNot, SQLLiteral.null).orderBy("id").all().map(ConnectorRecord.init(row:))
    }

    /// Writes the editable fields. A changed trigger folder (or a removed trigger) forgets the
    /// trigger's place, so it starts again from the folder's next message.
    package func update(_ connector: ConnectorRecord, resetCursor: Bool, on db: any SQLDatabase) async throws {
        var update = db.update("persona_connectors")
            .set("name", to: connector.name).set("enabled", to: connector.enabled)
            .set("config", to: try JSONCoding.encodeString(connector.config))
            .set("credentials", to: connector.credentialsSealed)
            .set("trigger_config", to: try connector.trigger.map { try JSONCoding.encodeString($0) })
            .set("updated_at", to: connector.updatedAt)
        if resetCursor {
            update = update.set("trigger_folder", to: String?.none).set("trigger_uid_validity", to: Int64?.none)
                .set("trigger_uid_next", to: Int64?.none).set("trigger_failures", to: 0).set("trigger_retry_at", to: Date?.none)
                .set("trigger_state", to: String?.none).set("trigger_message", to: String?.none)
        }
        try await update.where("id", .equal, connector.id).run()
    }

    package func delete(id: String, personaId: String, on db: any SQLDatabase) async throws -> Bool {
        try await db.delete(from: "persona_connectors").where("id", .equal, id).where("persona_id", .equal, personaId)
            .returning("id").first() != nil
    }

    /// Records a connection test's outcome.
    package func setStatus(id: String, _ status: ConnectorStatus, message: String?, at: Date, on db: any SQLDatabase) async throws {
        try await db.update("persona_connectors").set("status", to: status.rawValue).set("status_message", to: message)
            .set("checked_at", to: at).where("id", .equal, id).run()
    }

    /// Records the trigger loop's state; `failures` and `retryAt` describe its back-off.
    package func setTriggerState(id: String, state: String, message: String?, failures: Int, retryAt: Date?, seenAt: Date?,
                                 on db: any SQLDatabase) async throws {
        var update = db.update("persona_connectors").set("trigger_state", to: state).set("trigger_message", to: message)
            .set("trigger_failures", to: failures).set("trigger_retry_at", to: retryAt)
        if let seenAt { update = update.set("trigger_seen_at", to: seenAt) }
        try await update.where("id", .equal, id).run()
    }

    package func setCursor(id: String, _ cursor: TriggerCursor, on db: any SQLDatabase) async throws {
        try await db.update("persona_connectors").set("trigger_folder", to: cursor.folder)
            .set("trigger_uid_validity", to: cursor.uidValidity).set("trigger_uid_next", to: cursor.uidNext)
            .where("id", .equal, id).run()
    }

    // MARK: - Trigger bookkeeping

    /// Records that a message started `runId`. Fails with a unique violation when the message
    /// was recorded before, which rolls the run back with it.
    package func recordMessage(connectorId: String, folder: String, uidValidity: Int64, uid: Int64, messageId: String?, runId: String?,
                               now: Date, on db: any SQLDatabase) async throws {
        try await db.insert(into: "connector_trigger_messages")
            .columns("connector_id", "folder", "uid_validity", "uid", "message_id", "run_id", "created_at")
            .values(SQLBind(connectorId), SQLBind(folder), SQLBind(uidValidity), SQLBind(uid), SQLBind(messageId), SQLBind(runId),
                    SQLBind(now))
            .run()
    }

    /// Whether this message (by UID, or by Message-ID after a UIDVALIDITY change) started a run.
    package func hasMessage(connectorId: String, folder: String, uidValidity: Int64, uid: Int64, messageId: String?,
                            on db: any SQLDatabase) async throws -> Bool {
        if try await db.select().column("uid").from("connector_trigger_messages").where("connector_id", .equal, connectorId)
            .where("folder", .equal, folder).where("uid_validity", .equal, uidValidity).where("uid", .equal, uid).first() != nil {
            return true
        }
        guard let messageId, !messageId.isEmpty else { return false }
        return try await db.select().column("uid").from("connector_trigger_messages").where("connector_id", .equal, connectorId)
            .where("message_id", .equal, messageId).first() != nil
    }

    /// UIDs of messages in `folder` that started a run but were not yet marked seen or moved
    /// (a stop came in between).
    package func pendingActions(connectorId: String, folder: String, uidValidity: Int64, on db: any SQLDatabase) async throws -> [Int64] {
        try await db.select().column("uid").from("connector_trigger_messages")
            .where("connector_id", .equal, connectorId).where("folder", .equal, folder).where("uid_validity", .equal, uidValidity)
            .where(SQLColumn("action_done_at"), .is, SQLLiteral.null)
            .orderBy("uid").limit(1000).all()
            .map { try $0.decode(column: "uid", as: Int64.self) }
    }

    package func markActionDone(connectorId: String, folder: String, uidValidity: Int64, uids: [Int64], now: Date,
                                on db: any SQLDatabase) async throws {
        guard !uids.isEmpty else { return }
        try await db.update("connector_trigger_messages").set("action_done_at", to: now)
            .where("connector_id", .equal, connectorId).where("folder", .equal, folder).where("uid_validity", .equal, uidValidity)
            .where("uid", .in, uids).run()
    }

    package init() {

    }
}
