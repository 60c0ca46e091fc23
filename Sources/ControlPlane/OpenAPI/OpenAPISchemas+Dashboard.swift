import PersonaKit
import PersonaStorage

extension OpenAPISchemas {
    /// `GET /api/dashboard` (``Dashboard``): every `…Daily` array has one entry per `window.days`
    /// entry, every `…Hourly` one per `window.hours` entry.
    static let dashboard: JSONValue = {
        let count: JSONValue = ["type": "integer", "minimum": 0]
        let series: JSONValue = ["type": "array", "items": count]
        let times: JSONValue = ["type": "array", "items": time]
        func counts(_ keys: [String]) -> JSONValue { object(Dictionary(uniqueKeysWithValues: keys.map { ($0, count) })) }
        let nullableCount: JSONValue = ["type": ["integer", "null"], "minimum": 0]
        return object([
            "window": object(["generatedAt": time, "timeZone": ["type": "string"], "days": times, "hours": times]),
            "personas": object([
                "total": count, "byState": counts(ContainerState.allCases.map(\.rawValue)),
                "activeToday": count, "activeDaily": series,
            ]),
            "runs": object([
                "today": count, "last7Days": count,
                "byStatus7Days": counts(RunStatus.allCases.map(\.rawValue)),
                "successRate7Days": ["type": ["number", "null"], "minimum": 0, "maximum": 1],
                "medianDurationMsToday": nullableCount, "medianDurationMs7Days": nullableCount,
                "daily": series, "completedDaily": series, "failedDaily": series, "hourly": series,
            ], required: ["today", "last7Days", "byStatus7Days", "daily", "completedDaily", "failedDaily", "hourly"]),
            "toolCalls": object([
                "today": count, "last7Days": count, "failed7Days": count,
                "topTools": ["type": "array", "maxItems": 5,
                             "items": object(["tool": ["type": "string"], "calls": count, "failed": count])],
                "daily": series, "failedDaily": series, "hourly": series,
            ]),
            "approvals": object([
                "waiting": count, "runsWaiting": count, "oldestWaitingSince": nullableTime, "requestedDaily": series,
            ], required: ["waiting", "runsWaiting", "requestedDaily"]),
            "memory": object([
                "documents": count, "documentsByStatus": counts(["pending", "processing", "completed", "failed"]),
                "chunks": count, "curatedChunks": count, "documentsDaily": series, "chunksDaily": series,
            ]),
            "llm": object([
                "callsToday": count, "calls7Days": count, "tokensToday": count, "tokens7Days": count,
                "byModel7Days": ["type": "array", "items": object([
                    "model": ["type": "string"], "calls": count, "promptTokens": count, "completionTokens": count,
                ])],
                "callsDaily": series, "tokensDaily": series, "callsHourly": series, "tokensHourly": series,
            ]),
            "alerts": object([
                "open": count, "openByKind": counts(PersonaAlert.Kind.allCases.map(\.rawValue)),
                "openedDaily": series,
            ]),
        ])
    }()
}
