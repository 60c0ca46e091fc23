import Foundation
import SQLKit

/// One row of `persona_health_metrics`: a persona container's resources over one interval
/// (or, after a day, a 5-minute merge of such rows), and what the persona did in it.
package struct HealthSample: Codable, Sendable, Equatable {
    package var personaId: String
    package var sampledAt: Date
    /// The interval the row covers (the monitor's, or 300 once merged).
    package var resolutionSeconds: Int
    package var containerId: String?
    /// CPU use in percent of one CPU (100 = one core busy); `nil` for a container's first sample.
    package var cpuPercent: Double?
    /// Working set (usage less reclaimable page cache), MiB.
    package var memoryMb: Double?
    package var memoryPercent: Double?
    package var pids: Int?
    /// Bytes since the previous row (`nil` for a container's first sample).
    package var netRxBytes: Int64?
    package var netTxBytes: Int64?
    package var blockReadBytes: Int64?
    package var blockWriteBytes: Int64?
    /// Disk use of the persona's workspace.
    package var workspaceBytes: Int64?
    /// LLM steps of the persona's runs in the interval, and their prompt + completion tokens.
    package var llmCalls: Int
    package var llmTokens: Int64
    /// Runs queued, running or awaiting approval, and tool calls running, at sampling time.
    package var activeRuns: Int
    package var openToolRuns: Int

    package init(personaId: String, sampledAt: Date, resolutionSeconds: Int, containerId: String? = nil, cpuPercent: Double? = nil,
                 memoryMb: Double? = nil, memoryPercent: Double? = nil, pids: Int? = nil, netRxBytes: Int64? = nil,
                 netTxBytes: Int64? = nil, blockReadBytes: Int64? = nil, blockWriteBytes: Int64? = nil, workspaceBytes: Int64? = nil,
                 llmCalls: Int = 0, llmTokens: Int64 = 0, activeRuns: Int = 0, openToolRuns: Int = 0) {
        self.personaId = personaId
        self.sampledAt = sampledAt
        self.resolutionSeconds = resolutionSeconds
        self.containerId = containerId
        self.cpuPercent = cpuPercent
        self.memoryMb = memoryMb
        self.memoryPercent = memoryPercent
        self.pids = pids
        self.netRxBytes = netRxBytes
        self.netTxBytes = netTxBytes
        self.blockReadBytes = blockReadBytes
        self.blockWriteBytes = blockWriteBytes
        self.workspaceBytes = workspaceBytes
        self.llmCalls = llmCalls
        self.llmTokens = llmTokens
        self.activeRuns = activeRuns
        self.openToolRuns = openToolRuns
    }

    static let columns = ["persona_id", "sampled_at", "resolution_seconds", "container_id", "cpu_percent", "memory_mb", "memory_percent",
                          "pids", "net_rx_bytes", "net_tx_bytes", "block_read_bytes", "block_write_bytes", "workspace_bytes",
                          "llm_calls", "llm_tokens", "active_runs", "open_tool_runs"]

    init(row: any SQLRow) throws {
        personaId = try row.decode(column: "persona_id", as: String.self)
        sampledAt = try row.decode(column: "sampled_at", as: Date.self)
        resolutionSeconds = try row.decode(column: "resolution_seconds", as: Int.self)
        containerId = try row.decode(column: "container_id", as: String?.self)
        cpuPercent = try row.decode(column: "cpu_percent", as: Double?.self)
        memoryMb = try row.decode(column: "memory_mb", as: Double?.self)
        memoryPercent = try row.decode(column: "memory_percent", as: Double?.self)
        pids = try row.decode(column: "pids", as: Int?.self)
        netRxBytes = try row.decode(column: "net_rx_bytes", as: Int64?.self)
        netTxBytes = try row.decode(column: "net_tx_bytes", as: Int64?.self)
        blockReadBytes = try row.decode(column: "block_read_bytes", as: Int64?.self)
        blockWriteBytes = try row.decode(column: "block_write_bytes", as: Int64?.self)
        workspaceBytes = try row.decode(column: "workspace_bytes", as: Int64?.self)
        llmCalls = try row.decode(column: "llm_calls", as: Int.self)
        llmTokens = try row.decode(column: "llm_tokens", as: Int64.self)
        activeRuns = try row.decode(column: "active_runs", as: Int.self)
        openToolRuns = try row.decode(column: "open_tool_runs", as: Int.self)
    }

    var binds: [any Encodable & Sendable] {
        [personaId, sampledAt, resolutionSeconds, containerId, cpuPercent, memoryMb, memoryPercent, pids, netRxBytes, netTxBytes,
         blockReadBytes, blockWriteBytes, workspaceBytes, llmCalls, llmTokens, activeRuns, openToolRuns]
    }

    /// One row standing for `rows` (same persona), at `start`: averages of the gauges, sums of
    /// the counters, the largest of the activity counts.
    package static func merge(_ rows: [HealthSample], at start: Date, resolutionSeconds: Int) -> HealthSample {
        func average(_ values: [Double?]) -> Double? {
            let present = values.compactMap { $0 }
            return present.isEmpty ? nil : present.reduce(0, +) / Double(present.count)
        }
        func sum(_ values: [Int64?]) -> Int64? {
            let present = values.compactMap { $0 }
            return present.isEmpty ? nil : present.reduce(0, +)
        }
        return HealthSample(
            personaId: rows[0].personaId, sampledAt: start, resolutionSeconds: resolutionSeconds, containerId: rows.last?.containerId,
            cpuPercent: average(rows.map(\.cpuPercent)), memoryMb: average(rows.map(\.memoryMb)),
            memoryPercent: average(rows.map(\.memoryPercent)), pids: rows.compactMap(\.pids).max(),
            netRxBytes: sum(rows.map(\.netRxBytes)), netTxBytes: sum(rows.map(\.netTxBytes)),
            blockReadBytes: sum(rows.map(\.blockReadBytes)), blockWriteBytes: sum(rows.map(\.blockWriteBytes)),
            workspaceBytes: rows.compactMap(\.workspaceBytes).last,
            llmCalls: rows.reduce(0) { $0 + $1.llmCalls }, llmTokens: rows.reduce(0) { $0 + $1.llmTokens },
            activeRuns: rows.map(\.activeRuns).max() ?? 0, openToolRuns: rows.map(\.openToolRuns).max() ?? 0)
    }
}
