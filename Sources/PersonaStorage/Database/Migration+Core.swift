extension Database {
    /// Migration 1: users, sessions, refresh tokens, personas, members, secrets, audit, settings.
    /// Kept in step with docs/data-model.md.
    package static let coreSchema = Migration(version: 1, name: "core") { t in
        [
            """
            CREATE TABLE users (
              id TEXT PRIMARY KEY, email TEXT NOT NULL UNIQUE, name TEXT NOT NULL,
              password_hash TEXT NOT NULL, role TEXT NOT NULL, is_active \(t.bool) NOT NULL,
              created_at \(t.time) NOT NULL, updated_at \(t.time) NOT NULL, last_login_at \(t.time))
            """,
            """
            CREATE TABLE sessions (
              id TEXT PRIMARY KEY, user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
              created_at \(t.time) NOT NULL, expires_at \(t.time) NOT NULL, revoked_at \(t.time),
              revoke_reason TEXT, client_address TEXT, user_agent TEXT)
            """,
            "CREATE INDEX sessions_user_idx ON sessions (user_id)",
            """
            CREATE TABLE refresh_tokens (
              id TEXT PRIMARY KEY, session_id TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
              token_hash TEXT NOT NULL UNIQUE, created_at \(t.time) NOT NULL, expires_at \(t.time) NOT NULL,
              rotated_at \(t.time))
            """,
            "CREATE INDEX refresh_tokens_session_idx ON refresh_tokens (session_id)",
            """
            CREATE TABLE personas (
              id TEXT PRIMARY KEY, owner_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
              name TEXT NOT NULL, description TEXT, system_prompt TEXT, theme TEXT,
              is_active \(t.bool) NOT NULL, created_at \(t.time) NOT NULL, updated_at \(t.time) NOT NULL)
            """,
            "CREATE INDEX personas_owner_idx ON personas (owner_id, id)",
            """
            CREATE TABLE persona_members (
              persona_id TEXT NOT NULL REFERENCES personas(id) ON DELETE CASCADE,
              user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
              role TEXT NOT NULL, created_at \(t.time) NOT NULL,
              PRIMARY KEY (persona_id, user_id))
            """,
            "CREATE INDEX persona_members_user_idx ON persona_members (user_id, persona_id)",
            """
            CREATE TABLE persona_secrets (
              id TEXT PRIMARY KEY, persona_id TEXT NOT NULL REFERENCES personas(id) ON DELETE CASCADE,
              name TEXT NOT NULL, ciphertext TEXT NOT NULL,
              created_at \(t.time) NOT NULL, updated_at \(t.time) NOT NULL,
              UNIQUE (persona_id, name))
            """,
            """
            CREATE TABLE audit_events (
              id TEXT PRIMARY KEY, user_id TEXT, persona_id TEXT, run_id TEXT, trace_id TEXT,
              event_type TEXT NOT NULL, event_category TEXT NOT NULL, description TEXT NOT NULL,
              metadata TEXT NOT NULL, client_address TEXT, created_at \(t.time) NOT NULL)
            """,
            "CREATE INDEX audit_user_idx ON audit_events (user_id, id)",
            "CREATE INDEX audit_persona_idx ON audit_events (persona_id, id)",
            "CREATE INDEX audit_trace_idx ON audit_events (trace_id)",
            "CREATE INDEX audit_type_idx ON audit_events (event_type, id)",
            """
            CREATE TABLE settings (
              key TEXT PRIMARY KEY, value TEXT NOT NULL, updated_at \(t.time) NOT NULL, updated_by TEXT)
            """,
        ]
    }
}
