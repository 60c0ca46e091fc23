import Foundation
import PersonaKit
import SQLKit

extension DashboardRepository {
    /// The dashboard's statements, one per figure group. Each reads its big table through an
    /// index range: runs, tool runs and LLM calls by (persona, time) with the columns read in
    /// the key (index-only), approvals by time, chunks by persona, alerts by (persona, opening
    /// time) or the open-alert index.
    /// Days are bucketed in SQL by comparing with the window's midnights (bound like every
    /// other time), so both engines agree on the caller's local days, DST included.
    package enum Query: String, CaseIterable, Sendable {
        case personas, runsDaily, runsHourly, runsMedian7Days, runsMedianToday, toolCallsDaily, toolCallsHourly,
             approvalsWaiting, approvalsDaily, documents, chunks, llmDaily, llmHourly, alertsOpen, alertsDaily
    }

    /// The statement of `query` for `user` over `window` (tests run `EXPLAIN` on each).
    package func sql(_ query: Query, for user: AuthenticatedUser, window: DashboardWindow) -> SQLQueryString {
        let today = window.hours.first ?? window.end
        let hoursEnd = min((window.hours.last ?? today).addingTimeInterval(3600), window.end)
        let days = window.days
        let first = days.first ?? today
        let admin = user.role == .admin
        switch query {
        case .personas:
            return """
                SELECT c.state AS state, COUNT(*) AS n FROM personas p LEFT JOIN persona_containers c ON c.persona_id = p.id
                WHERE \(visible("p.id", user)) GROUP BY c.state
                """
        case .runsDaily:
            let statuses = RunStatus.allCases.map { "SUM(CASE WHEN status = '\($0.rawValue)' THEN 1 ELSE 0 END) AS s_\($0.rawValue)" }
            return """
                SELECT day, COUNT(*) AS n, COUNT(DISTINCT persona_id) AS personas, \(unsafeRaw: statuses.joined(separator: ", "))
                FROM (SELECT \(bucket("created_at", days, end: window.end)) AS day, status, persona_id FROM runs
                      WHERE \(visible("persona_id", user)) AND \(range("created_at", first, window.end))) t
                GROUP BY day
                """
        case .runsHourly:
            return """
                SELECT hour, COUNT(*) AS n
                FROM (SELECT \(bucket("created_at", window.hours, end: hoursEnd)) AS hour FROM runs
                      WHERE \(visible("persona_id", user)) AND \(range("created_at", today, hoursEnd))) t
                GROUP BY hour
                """
        case .runsMedian7Days, .runsMedianToday:
            let since = query == .runsMedianToday ? today : days[window.weekStart]
            let duration: SQLQueryString = kind == .postgres
                ? "CAST(EXTRACT(EPOCH FROM completed_at - started_at) * 1000 AS DOUBLE PRECISION)"
                : "(completed_at - started_at) * 1000.0"
            // Exact on both engines: the middle one or two of the sorted durations (window
            // functions); the sort is bounded by the window's completed runs. The status test
            // sits in the CASE so that no engine reads every completed run ever through
            // `runs_queue_idx (status, id)` instead of the window's range.
            return """
                SELECT AVG(d) AS median FROM (
                  SELECT d, ROW_NUMBER() OVER (ORDER BY d) AS rn, COUNT(*) OVER () AS n FROM (
                    SELECT CASE WHEN status = 'completed' AND started_at IS NOT NULL AND completed_at IS NOT NULL
                                THEN \(duration) END AS d
                    FROM runs WHERE \(visible("persona_id", user)) AND \(range("created_at", since, window.end))) s
                  WHERE d IS NOT NULL) w
                WHERE rn IN ((n + 1) / 2, (n + 2) / 2)
                """
        case .toolCallsDaily:
            return """
                SELECT day, tool_name, COUNT(*) AS n,
                       SUM(CASE WHEN status IN ('failed', 'timed_out', 'interrupted') THEN 1 ELSE 0 END) AS failed
                FROM (SELECT \(bucket("created_at", days, end: window.end)) AS day, tool_name, status FROM tool_runs
                      WHERE \(visible("persona_id", user)) AND \(range("created_at", first, window.end))) t
                GROUP BY day, tool_name
                """
        case .toolCallsHourly:
            return """
                SELECT hour, COUNT(*) AS n
                FROM (SELECT \(bucket("created_at", window.hours, end: hoursEnd)) AS hour FROM tool_runs
                      WHERE \(visible("persona_id", user)) AND \(range("created_at", today, hoursEnd))) t
                GROUP BY hour
                """
        case .approvalsWaiting:
            // From the runs waiting (runs_queue_idx), then their approvals by primary key. An
            // admin sees them all: no persona test (PostgreSQL would AND in a persona index).
            let owner: SQLQueryString = admin ? "" : " AND \(visible("r.persona_id", user))"
            return """
                SELECT COUNT(*) AS n, COUNT(DISTINCT a.run_id) AS runs, MIN(a.created_at) AS oldest
                FROM runs r CROSS JOIN run_approvals a
                WHERE r.status = 'awaiting_approval'\(owner) AND a.run_id = r.id AND a.status = 'pending'
                """
        case .approvalsDaily:
            // An admin sees every approval: no join. Otherwise each one's run says whose it is
            // (the approvals in the window first: CROSS JOIN keeps SQLite's loop in that order).
            let join: SQLQueryString = admin ? "" : " CROSS JOIN runs r"
            let owner: SQLQueryString = admin ? "" : " AND r.id = a.run_id AND \(visible("r.persona_id", user))"
            return """
                SELECT day, COUNT(*) AS n
                FROM (SELECT \(bucket("a.created_at", days, end: window.end)) AS day FROM run_approvals a\(join)
                      WHERE \(range("a.created_at", first, window.end))\(owner)) t
                GROUP BY day
                """
        case .documents:
            return """
                SELECT status, day, COUNT(*) AS n, CAST(SUM(chunk_count) AS BIGINT) AS chunks
                FROM (SELECT status, chunk_count, \(bucket("created_at", days, end: window.end, outside: true)) AS day FROM documents
                      WHERE \(visible("persona_id", user))) t
                GROUP BY status, day
                """
        case .chunks:
            return "SELECT is_curated, COUNT(*) AS n FROM chunks WHERE \(visible("persona_id", user)) GROUP BY is_curated"
        case .llmDaily, .llmHourly:
            let hourly = query == .llmHourly
            let (starts, since, end) = hourly ? (window.hours, today, hoursEnd) : (days, first, window.end)
            return """
                SELECT bucket, \(unsafeRaw: hourly ? "" : "model, ")COUNT(*) AS n, CAST(SUM(prompt_tokens) AS BIGINT) AS prompt,
                       CAST(SUM(completion_tokens) AS BIGINT) AS completion
                FROM (SELECT \(bucket("created_at", starts, end: end)) AS bucket, model, prompt_tokens, completion_tokens FROM llm_calls
                      WHERE \(visible("persona_id", user)) AND \(range("created_at", since, end))) t
                GROUP BY bucket\(unsafeRaw: hourly ? "" : ", model")
                """
        case .alertsOpen:
            // SQLite would pick persona_alerts_persona_idx (every alert a persona ever had):
            // the partial index holds the open ones only.
            let index: SQLQueryString = kind == .sqlite ? " INDEXED BY persona_alerts_open_idx" : ""
            return """
                SELECT kind, COUNT(*) AS n FROM persona_alerts\(index) WHERE status = 'open' AND \(visible("persona_id", user))
                GROUP BY kind
                """
        case .alertsDaily:
            return """
                SELECT day, COUNT(*) AS n
                FROM (SELECT \(bucket("opened_at", days, end: window.end)) AS day FROM persona_alerts
                      WHERE \(visible("persona_id", user)) AND \(range("opened_at", first, window.end))) t
                GROUP BY day
                """
        }
    }

    /// `column` is one of the personas `user` sees: every persona for an admin, otherwise the
    /// ones they own or are a member of. PostgreSQL gets the ids as an array (an index scan
    /// per id on a `(persona_id, …)` index); SQLite looks each id up in the same way for `IN`.
    private func visible(_ column: String, _ user: AuthenticatedUser) -> SQLQueryString {
        let ids: SQLQueryString = user.role == .admin
            ? "SELECT id FROM personas"
            : """
              SELECT id FROM personas WHERE owner_id = \(bind: user.id)
              UNION SELECT persona_id FROM persona_members WHERE user_id = \(bind: user.id)
              """
        return kind == .postgres ? "\(unsafeRaw: column) = ANY(ARRAY(\(ids)))" : "\(unsafeRaw: column) IN (\(ids))"
    }

    private func range(_ column: String, _ since: Date, _ until: Date) -> SQLQueryString {
        "\(unsafeRaw: column) >= \(bind: since) AND \(unsafeRaw: column) < \(bind: until)"
    }

    /// The index of the bucket `column` falls in, given the buckets' starts (ascending) and the
    /// last one's end; with `outside`, -1 for a time before the first or at or after `end`.
    private func bucket(_ column: String, _ starts: [Date], end: Date, outside: Bool = false) -> SQLQueryString {
        var branches: [SQLQueryString] = []
        if outside, let first = starts.first {
            branches.append(" WHEN \(unsafeRaw: column) < \(bind: first) OR \(unsafeRaw: column) >= \(bind: end) THEN -1")
        }
        for index in stride(from: starts.count - 1, to: 0, by: -1) {
            branches.append(" WHEN \(unsafeRaw: column) >= \(bind: starts[index]) THEN \(unsafeRaw: String(index))")
        }
        // One bucket (today's first hour) is no CASE at all: `CASE ELSE 0 END` is not SQL.
        return branches.isEmpty ? "0" : "CASE" + branches.joined() + " ELSE 0 END"
    }
}
