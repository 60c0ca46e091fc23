extension Database {
    /// Migration 17: connectors and the email trigger's bookkeeping.
    ///
    /// `persona_connectors` holds a persona's connectors: `config` is the JSON of the non-secret
    /// settings (servers, usernames, addresses, folders, a CA to trust), `credentials` the
    /// passwords as one JSON object sealed by `SecretBox` under the row's id, `trigger_config` the
    /// optional email trigger. `status*` is the last connection test or trigger attempt;
    /// `trigger_*` the trigger loop's state, its consecutive failures and the next attempt, and
    /// where it has read up to: the folder, its UIDVALIDITY and the next UID to look at (set to
    /// the folder's UIDNEXT when the trigger first sees it, so mail already there starts nothing).
    ///
    /// `connector_trigger_messages` is what makes a trigger exactly once: one row per message
    /// (UIDVALIDITY + UID) that started a run, written in the transaction that queues the run,
    /// so a control plane killed at any point neither loses the message nor starts a second run
    /// for it. `action_done_at` is set once the message was marked seen or moved; a row without
    /// it is finished after a restart without starting anything. Kept in step with
    /// docs/data-model.md.
    package static let connectorsSchema = Migration(version: 17, name: "connectors") { t in
        [
            """
            CREATE TABLE persona_connectors (
              id TEXT PRIMARY KEY, persona_id TEXT NOT NULL REFERENCES personas(id) ON DELETE CASCADE,
              kind TEXT NOT NULL, name TEXT NOT NULL, enabled \(t.bool) NOT NULL,
              config TEXT NOT NULL, credentials TEXT NOT NULL, trigger_config TEXT,
              status TEXT NOT NULL, status_message TEXT, checked_at \(t.time),
              trigger_state TEXT, trigger_message TEXT, trigger_failures INTEGER NOT NULL DEFAULT 0,
              trigger_retry_at \(t.time), trigger_seen_at \(t.time),
              trigger_folder TEXT, trigger_uid_validity \(t.bigint), trigger_uid_next \(t.bigint),
              created_by TEXT, created_at \(t.time) NOT NULL, updated_at \(t.time) NOT NULL,
              UNIQUE (persona_id, name))
            """,
            "CREATE INDEX persona_connectors_trigger_idx ON persona_connectors (kind) WHERE trigger_config IS NOT NULL",
            """
            CREATE TABLE connector_trigger_messages (
              connector_id TEXT NOT NULL REFERENCES persona_connectors(id) ON DELETE CASCADE,
              folder TEXT NOT NULL, uid_validity \(t.bigint) NOT NULL, uid \(t.bigint) NOT NULL,
              message_id TEXT, run_id TEXT, created_at \(t.time) NOT NULL, action_done_at \(t.time),
              PRIMARY KEY (connector_id, folder, uid_validity, uid))
            """,
            "CREATE INDEX connector_trigger_messages_pending_idx ON connector_trigger_messages (connector_id) WHERE action_done_at IS NULL",
        ]
    }
}
