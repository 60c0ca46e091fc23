import Foundation
import PersonaKit
import SQLKit

/// The figures of `GET /api/dashboard` (``Dashboard``), aggregated in SQL on either engine:
/// one statement per group of figures (``Query``), each bounded by the window's time range
/// or by the caller's personas, each on an index (see ``sql(_:for:window:)``).
package struct DashboardRepository: Sendable {
    package let kind: SQLDialectKind

    package init(kind: SQLDialectKind) {
        self.kind = kind
    }

    /// The dashboard `user` sees over `window`, read on `db` (15 statements, one connection).
    package func load(for user: AuthenticatedUser, window: DashboardWindow, on db: any SQLDatabase) async throws -> Dashboard {
        func rows(_ query: Query) async throws -> [any SQLRow] { try await db.raw(sql(query, for: user, window: window)).all() }
        let dayCount = window.days.count, hourCount = window.hours.count
        let week = window.weekStart, today = dayCount - 1

        var byState = Dictionary(uniqueKeysWithValues: ContainerState.allCases.map { ($0.rawValue, 0) })
        for row in try await rows(.personas) {
            let state = try row.decode(column: "state", as: String?.self) ?? ContainerState.stopped.rawValue
            byState[state, default: 0] += try row.decode(column: "n", as: Int.self)
        }

        var runs = Series(days: dayCount, hours: hourCount)
        var byStatus = Dictionary(uniqueKeysWithValues: RunStatus.allCases.map { ($0.rawValue, 0) })
        var completed = [Int](repeating: 0, count: dayCount), failed = completed, active = completed
        for row in try await rows(.runsDaily) {
            guard let day = try Series.index(row, "day", count: dayCount) else { continue }
            runs.daily[day] = try row.decode(column: "n", as: Int.self)
            active[day] = try row.decode(column: "personas", as: Int.self)
            completed[day] = try row.decode(column: "s_completed", as: Int.self)
            failed[day] = try row.decode(column: "s_failed", as: Int.self)
            if day >= week {
                for status in RunStatus.allCases {
                    byStatus[status.rawValue, default: 0] += try row.decode(column: "s_\(status.rawValue)", as: Int.self)
                }
            }
        }
        try runs.readHourly(try await rows(.runsHourly), column: "hour")
        let finished = completed[week...].reduce(0, +) + failed[week...].reduce(0, +)

        var tools = Series(days: dayCount, hours: hourCount)
        var failedCalls = [Int](repeating: 0, count: dayCount)
        var perTool: [String: Dashboard.ToolCount] = [:]
        for row in try await rows(.toolCallsDaily) {
            guard let day = try Series.index(row, "day", count: dayCount) else { continue }
            let (n, failures) = (try row.decode(column: "n", as: Int.self), try row.decode(column: "failed", as: Int.self))
            tools.daily[day] += n
            failedCalls[day] += failures
            if day >= week {
                let name = try row.decode(column: "tool_name", as: String.self)
                perTool[name, default: .init(tool: name, calls: 0, failed: 0)].calls += n
                perTool[name, default: .init(tool: name, calls: 0, failed: 0)].failed += failures
            }
        }
        try tools.readHourly(try await rows(.toolCallsHourly), column: "hour")

        let waiting = try await rows(.approvalsWaiting).first
        var requested = Series(days: dayCount, hours: 0)
        for row in try await rows(.approvalsDaily) {
            guard let day = try Series.index(row, "day", count: dayCount) else { continue }
            requested.daily[day] = try row.decode(column: "n", as: Int.self)
        }

        let documentStatuses: [DocumentStatus] = [.pending, .processing, .completed, .failed]
        var documentsByStatus = Dictionary(uniqueKeysWithValues: documentStatuses.map { ($0.rawValue, 0) })
        var documents = Series(days: dayCount, hours: 0), documentChunks = Series(days: dayCount, hours: 0)
        for row in try await rows(.documents) {
            let n = try row.decode(column: "n", as: Int.self)
            documentsByStatus[try row.decode(column: "status", as: String.self), default: 0] += n
            guard let day = try Series.index(row, "day", count: dayCount) else { continue }
            documents.daily[day] += n
            documentChunks.daily[day] += try row.decode(column: "chunks", as: Int?.self) ?? 0
        }
        var chunks = 0, curated = 0
        for row in try await rows(.chunks) {
            let n = try row.decode(column: "n", as: Int.self)
            chunks += n
            if try row.decode(column: "is_curated", as: Bool.self) { curated += n }
        }

        var calls = Series(days: dayCount, hours: hourCount), tokens = Series(days: dayCount, hours: hourCount)
        var models: [String: Dashboard.ModelUsage] = [:]
        for row in try await rows(.llmDaily) {
            guard let day = try Series.index(row, "bucket", count: dayCount) else { continue }
            let usage = try Self.usage(row)
            calls.daily[day] += usage.calls
            tokens.daily[day] += usage.promptTokens + usage.completionTokens
            if day >= week {
                models[usage.model, default: .init(model: usage.model, calls: 0, promptTokens: 0, completionTokens: 0)].add(usage)
            }
        }
        for row in try await rows(.llmHourly) {
            guard let hour = try Series.index(row, "bucket", count: hourCount) else { continue }
            let usage = try Self.usage(row, model: false)
            calls.hourly[hour] += usage.calls
            tokens.hourly[hour] += usage.promptTokens + usage.completionTokens
        }

        var openByKind = Dictionary(uniqueKeysWithValues: PersonaAlert.Kind.allCases.map { ($0.rawValue, 0) })
        for row in try await rows(.alertsOpen) {
            openByKind[try row.decode(column: "kind", as: String.self), default: 0] += try row.decode(column: "n", as: Int.self)
        }
        var opened = Series(days: dayCount, hours: 0)
        for row in try await rows(.alertsDaily) {
            guard let day = try Series.index(row, "day", count: dayCount) else { continue }
            opened.daily[day] = try row.decode(column: "n", as: Int.self)
        }

        return Dashboard(
            window: .init(generatedAt: window.now, timeZone: window.timeZone.identifier, days: window.days, hours: window.hours),
            personas: .init(total: byState.values.reduce(0, +), byState: byState, activeToday: active[today], activeDaily: active),
            runs: .init(today: runs.daily[today], last7Days: runs.daily[week...].reduce(0, +), byStatus7Days: byStatus,
                        successRate7Days: finished == 0 ? nil : Double(completed[week...].reduce(0, +)) / Double(finished),
                        medianDurationMsToday: try await median(.runsMedianToday, user: user, window: window, on: db),
                        medianDurationMs7Days: try await median(.runsMedian7Days, user: user, window: window, on: db),
                        daily: runs.daily, completedDaily: completed, failedDaily: failed, hourly: runs.hourly),
            toolCalls: .init(today: tools.daily[today], last7Days: tools.daily[week...].reduce(0, +),
                             failed7Days: failedCalls[week...].reduce(0, +),
                             topTools: Array(perTool.values.sorted { ($0.calls, $1.tool) > ($1.calls, $0.tool) }.prefix(5)),
                             daily: tools.daily, failedDaily: failedCalls, hourly: tools.hourly),
            approvals: .init(waiting: try waiting?.decode(column: "n", as: Int.self) ?? 0,
                             runsWaiting: try waiting?.decode(column: "runs", as: Int.self) ?? 0,
                             oldestWaitingSince: try waiting?.decode(column: "oldest", as: Date?.self), requestedDaily: requested.daily),
            memory: .init(documents: documentsByStatus.values.reduce(0, +), documentsByStatus: documentsByStatus, chunks: chunks,
                          curatedChunks: curated, documentsDaily: documents.daily, chunksDaily: documentChunks.daily),
            llm: .init(callsToday: calls.daily[today], calls7Days: calls.daily[week...].reduce(0, +), tokensToday: tokens.daily[today],
                       tokens7Days: tokens.daily[week...].reduce(0, +),
                       byModel7Days: models.values.sorted { ($0.calls, $1.model) > ($1.calls, $0.model) },
                       callsDaily: calls.daily, tokensDaily: tokens.daily, callsHourly: calls.hourly, tokensHourly: tokens.hourly),
            alerts: .init(open: openByKind.values.reduce(0, +), openByKind: openByKind, openedDaily: opened.daily))
    }

    /// The median duration (whole milliseconds) a median statement found, `nil` for none.
    private func median(_ query: Query, user: AuthenticatedUser, window: DashboardWindow, on db: any SQLDatabase) async throws -> Int? {
        try await db.raw(sql(query, for: user, window: window)).first()?.decode(column: "median", as: Double?.self)
            .map { Int($0.rounded()) }
    }

    private static func usage(_ row: any SQLRow, model: Bool = true) throws -> Dashboard.ModelUsage {
        Dashboard.ModelUsage(model: model ? try row.decode(column: "model", as: String.self) : "",
                             calls: try row.decode(column: "n", as: Int.self),
                             promptTokens: try row.decode(column: "prompt", as: Int?.self) ?? 0,
                             completionTokens: try row.decode(column: "completion", as: Int?.self) ?? 0)
    }

    /// A zero-filled daily and hourly series.
    private struct Series {
        var daily: [Int]
        var hourly: [Int]

        init(days: Int, hours: Int) {
            daily = [Int](repeating: 0, count: days)
            hourly = [Int](repeating: 0, count: hours)
        }

        /// A row's bucket index, `nil` outside `0..<count` (a document older than the window).
        static func index(_ row: any SQLRow, _ column: String, count: Int) throws -> Int? {
            let index = try row.decode(column: column, as: Int.self)
            return (0..<count).contains(index) ? index : nil
        }

        mutating func readHourly(_ rows: [any SQLRow], column: String) throws {
            for row in rows {
                guard let hour = try Self.index(row, column, count: hourly.count) else { continue }
                hourly[hour] = try row.decode(column: "n", as: Int.self)
            }
        }
    }
}

private extension Dashboard.ModelUsage {
    mutating func add(_ other: Dashboard.ModelUsage) {
        calls += other.calls
        promptTokens += other.promptTokens
        completionTokens += other.completionTokens
    }
}
