import Foundation

/// What `GET /api/dashboard` answers: the storytelling cards over what the caller can see
/// (an admin: every persona; anyone else: the personas they own or are a member of). Every
/// `…Daily` array has one entry per day of ``Window/days`` (oldest first, today last) and
/// every `…Hourly` array one per hour of ``Window/hours`` (today's, up to the current one),
/// zero-filled, for sparklines. "Today" and "7 days" are the caller's time zone's days: today
/// and the six before it.
package struct Dashboard: Codable, Sendable, Equatable {
    /// The days and hours the series cover.
    package struct Window: Codable, Sendable, Equatable {
        package var generatedAt: Date
        /// The IANA time zone whose midnights start the days.
        package var timeZone: String
        /// The start of each day, oldest first; the last is today.
        package var days: [Date]
        /// The start of each hour of today up to the current one (3,600 s apart from midnight).
        package var hours: [Date]

        package init(generatedAt: Date, timeZone: String, days: [Date], hours: [Date]) {
            self.generatedAt = generatedAt
            self.timeZone = timeZone
            self.days = days
            self.hours = hours
        }
    }

    /// Personas by their container's state (one never started counts as `stopped`), and how
    /// many had a run created each day.
    package struct Personas: Codable, Sendable, Equatable {
        package var total: Int
        /// Every ``ContainerState`` as a key, zero-filled.
        package var byState: [String: Int]
        package var activeToday: Int
        package var activeDaily: [Int]

        package init(total: Int, byState: [String: Int], activeToday: Int, activeDaily: [Int]) {
            self.total = total
            self.byState = byState
            self.activeToday = activeToday
            self.activeDaily = activeDaily
        }
    }

    /// Runs by creation time.
    package struct Runs: Codable, Sendable, Equatable {
        package var today: Int
        package var last7Days: Int
        /// The current status of the runs created in the last 7 days; every ``RunStatus`` a key.
        package var byStatus7Days: [String: Int]
        /// `completed / (completed + failed)` over the last 7 days (cancelled runs left out);
        /// `nil` when none of them finished either way.
        package var successRate7Days: Double?
        /// Median of `completedAt - startedAt` over the completed runs created today / in the
        /// last 7 days, whole milliseconds; `nil` when there are none.
        package var medianDurationMsToday: Int?
        package var medianDurationMs7Days: Int?
        package var daily: [Int]
        package var completedDaily: [Int]
        package var failedDaily: [Int]
        package var hourly: [Int]

        package init(today: Int, last7Days: Int, byStatus7Days: [String: Int], successRate7Days: Double?,
                     medianDurationMsToday: Int?, medianDurationMs7Days: Int?, daily: [Int], completedDaily: [Int],
                     failedDaily: [Int], hourly: [Int]) {
            self.today = today
            self.last7Days = last7Days
            self.byStatus7Days = byStatus7Days
            self.successRate7Days = successRate7Days
            self.medianDurationMsToday = medianDurationMsToday
            self.medianDurationMs7Days = medianDurationMs7Days
            self.daily = daily
            self.completedDaily = completedDaily
            self.failedDaily = failedDaily
            self.hourly = hourly
        }
    }

    /// One tool's calls in the last 7 days.
    package struct ToolCount: Codable, Sendable, Equatable {
        package var tool: String
        package var calls: Int
        package var failed: Int

        package init(tool: String, calls: Int, failed: Int) {
            self.tool = tool
            self.calls = calls
            self.failed = failed
        }
    }

    /// Tool calls (`tool_runs`) by creation time; `failed` counts `failed`, `timed_out` and
    /// `interrupted` calls.
    package struct ToolCalls: Codable, Sendable, Equatable {
        package var today: Int
        package var last7Days: Int
        package var failed7Days: Int
        /// The five most called tools of the last 7 days, most calls first (then by name).
        package var topTools: [ToolCount]
        package var daily: [Int]
        package var failedDaily: [Int]
        package var hourly: [Int]

        package init(today: Int, last7Days: Int, failed7Days: Int, topTools: [ToolCount], daily: [Int], failedDaily: [Int],
                     hourly: [Int]) {
            self.today = today
            self.last7Days = last7Days
            self.failed7Days = failed7Days
            self.topTools = topTools
            self.daily = daily
            self.failedDaily = failedDaily
            self.hourly = hourly
        }
    }

    /// Tool calls waiting for a person's decision: pending approvals of runs awaiting approval.
    package struct Approvals: Codable, Sendable, Equatable {
        package var waiting: Int
        package var runsWaiting: Int
        package var oldestWaitingSince: Date?
        /// Approvals requested each day (whatever became of them).
        package var requestedDaily: [Int]

        package init(waiting: Int, runsWaiting: Int, oldestWaitingSince: Date?, requestedDaily: [Int]) {
            self.waiting = waiting
            self.runsWaiting = runsWaiting
            self.oldestWaitingSince = oldestWaitingSince
            self.requestedDaily = requestedDaily
        }
    }

    /// Document memory. The series count documents by upload day and, for chunks, the chunks
    /// those documents were cut into.
    package struct Memory: Codable, Sendable, Equatable {
        package var documents: Int
        /// Every ``DocumentStatus`` a key.
        package var documentsByStatus: [String: Int]
        /// All chunks, curated ones included.
        package var chunks: Int
        package var curatedChunks: Int
        package var documentsDaily: [Int]
        package var chunksDaily: [Int]

        package init(documents: Int, documentsByStatus: [String: Int], chunks: Int, curatedChunks: Int, documentsDaily: [Int],
                     chunksDaily: [Int]) {
            self.documents = documents
            self.documentsByStatus = documentsByStatus
            self.chunks = chunks
            self.curatedChunks = curatedChunks
            self.documentsDaily = documentsDaily
            self.chunksDaily = chunksDaily
        }
    }

    /// One model's LLM steps in the last 7 days.
    package struct ModelUsage: Codable, Sendable, Equatable {
        package var model: String
        package var calls: Int
        package var promptTokens: Int
        package var completionTokens: Int

        package init(model: String, calls: Int, promptTokens: Int, completionTokens: Int) {
            self.model = model
            self.calls = calls
            self.promptTokens = promptTokens
            self.completionTokens = completionTokens
        }
    }

    /// LLM steps of runs (`llm_calls`: one per LLM checkpoint) by the step's time; tokens are prompt +
    /// completion as the gateway reported them.
    package struct LLM: Codable, Sendable, Equatable {
        package var callsToday: Int
        package var calls7Days: Int
        package var tokensToday: Int
        package var tokens7Days: Int
        /// Most calls first (then by name).
        package var byModel7Days: [ModelUsage]
        package var callsDaily: [Int]
        package var tokensDaily: [Int]
        package var callsHourly: [Int]
        package var tokensHourly: [Int]

        package init(callsToday: Int, calls7Days: Int, tokensToday: Int, tokens7Days: Int, byModel7Days: [ModelUsage],
                     callsDaily: [Int], tokensDaily: [Int], callsHourly: [Int], tokensHourly: [Int]) {
            self.callsToday = callsToday
            self.calls7Days = calls7Days
            self.tokensToday = tokensToday
            self.tokens7Days = tokens7Days
            self.byModel7Days = byModel7Days
            self.callsDaily = callsDaily
            self.tokensDaily = tokensDaily
            self.callsHourly = callsHourly
            self.tokensHourly = tokensHourly
        }
    }

    /// Alerts open now, and alerts opened each day.
    package struct Alerts: Codable, Sendable, Equatable {
        package var open: Int
        /// Every ``PersonaAlert/Kind`` a key.
        package var openByKind: [String: Int]
        package var openedDaily: [Int]

        package init(open: Int, openByKind: [String: Int], openedDaily: [Int]) {
            self.open = open
            self.openByKind = openByKind
            self.openedDaily = openedDaily
        }
    }

    package var window: Window
    package var personas: Personas
    package var runs: Runs
    package var toolCalls: ToolCalls
    package var approvals: Approvals
    package var memory: Memory
    package var llm: LLM
    package var alerts: Alerts

    package init(window: Window, personas: Personas, runs: Runs, toolCalls: ToolCalls, approvals: Approvals, memory: Memory,
                 llm: LLM, alerts: Alerts) {
        self.window = window
        self.personas = personas
        self.runs = runs
        self.toolCalls = toolCalls
        self.approvals = approvals
        self.memory = memory
        self.llm = llm
        self.alerts = alerts
    }
}

/// The days and hours a dashboard covers: `dayCount` days of `timeZone` ending with the one
/// holding `now`, and today's hours up to the one holding `now`.
package struct DashboardWindow: Sendable {
    package let now: Date
    package let timeZone: TimeZone
    /// Local midnights, oldest first (today last).
    package let days: [Date]
    /// Tomorrow's midnight: the end of the last day.
    package let end: Date
    /// Today's hour starts up to the one holding `now`.
    package let hours: [Date]

    package init(now: Date, timeZone: TimeZone, dayCount: Int = 14) {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = timeZone
        let today = calendar.startOfDay(for: now)
        // From noon, so that a day whose midnight a DST change skips still lands in that day.
        let noon = today.addingTimeInterval(12 * 3600)
        func midnight(_ offset: Int) -> Date {
            calendar.date(byAdding: .day, value: offset, to: noon).map { calendar.startOfDay(for: $0) }
                ?? today.addingTimeInterval(Double(offset) * 86_400)
        }
        self.now = now
        self.timeZone = timeZone
        days = (0..<max(1, dayCount)).reversed().map { midnight(-$0) }
        end = midnight(1)
        hours = stride(from: today, through: now, by: 3600).map { $0 }
    }

    /// The index in ``days`` of the first of the last 7 days.
    package var weekStart: Int { max(0, days.count - 7) }
}
