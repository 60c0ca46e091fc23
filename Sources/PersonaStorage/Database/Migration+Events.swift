extension Database {
    /// Migration 13: the persona event log, the rows behind the WebSocket's `persona:{id}` and
    /// `alerts` topics (run events stay in `run_events`). `seq` is the event id a client resumes
    /// from, on any replica. Container state changes are written by a trigger, so every path
    /// that moves `persona_containers.state` (start, registration, heartbeats, the reconciler,
    /// stop) records one without each knowing about events; alerts, health samples, sidecar
    /// changes and tool invocations are appended by the code that makes them, in the same
    /// transaction. Kept in step with docs/data-model.md.
    package static let eventsSchema = Migration(version: 13, name: "persona_events") { t in
        let serial = t.kind == .postgres ? "BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY" : "INTEGER PRIMARY KEY AUTOINCREMENT"
        let table = """
            CREATE TABLE persona_events (
              seq \(serial), persona_id TEXT NOT NULL REFERENCES personas(id) ON DELETE CASCADE,
              type TEXT NOT NULL, data TEXT NOT NULL, created_at \(t.time) NOT NULL)
            """
        let indexes = [
            "CREATE INDEX persona_events_persona_idx ON persona_events (persona_id, seq)",
            "CREATE INDEX persona_events_time_idx ON persona_events (created_at)",
        ]
        if t.kind == .postgres {
            return [table] + indexes + [
                """
                CREATE FUNCTION persona_container_state_event() RETURNS trigger AS $$
                BEGIN
                  IF TG_OP = 'INSERT' OR NEW.state IS DISTINCT FROM OLD.state THEN
                    INSERT INTO persona_events (persona_id, type, data, created_at)
                    VALUES (NEW.persona_id, 'container.state',
                            json_build_object('state', NEW.state, 'previous', CASE WHEN TG_OP = 'INSERT' THEN NULL ELSE OLD.state END,
                                              'desiredState', NEW.desired_state, 'containerId', NEW.container_id,
                                              'restartCount', NEW.restart_count, 'error', NEW.last_error)::text,
                            now());
                  END IF;
                  RETURN NEW;
                END $$ LANGUAGE plpgsql
                """,
                """
                CREATE TRIGGER persona_containers_state_event AFTER INSERT OR UPDATE OF state ON persona_containers
                FOR EACH ROW EXECUTE FUNCTION persona_container_state_event()
                """,
            ]
        }
        let data = { (previous: String) in
            """
            json_object('state', NEW.state, 'previous', \(previous), 'desiredState', NEW.desired_state,
                        'containerId', NEW.container_id, 'restartCount', NEW.restart_count, 'error', NEW.last_error)
            """
        }
        let now = "(julianday('now') - 2440587.5) * 86400.0"
        return [table] + indexes + [
            """
            CREATE TRIGGER persona_containers_state_insert AFTER INSERT ON persona_containers
            BEGIN
              INSERT INTO persona_events (persona_id, type, data, created_at)
              VALUES (NEW.persona_id, 'container.state', \(data("NULL")), \(now));
            END
            """,
            """
            CREATE TRIGGER persona_containers_state_update AFTER UPDATE OF state ON persona_containers
            WHEN NEW.state IS NOT OLD.state
            BEGIN
              INSERT INTO persona_events (persona_id, type, data, created_at)
              VALUES (NEW.persona_id, 'container.state', \(data("OLD.state")), \(now));
            END
            """,
        ]
    }
}
