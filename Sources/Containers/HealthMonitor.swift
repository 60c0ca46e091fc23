import DockerEngine
import Foundation
import Logging
import NIOPosix
import PersonaCore
import PersonaStorage
import ServiceLifecycle
import Synchronization

/// Samples every running persona container (not one the idle sweep paused: it does nothing,
/// and its silent supervisor opens no `heartbeat_missed`) each `HEALTH_INTERVAL_SECONDS` into
/// `persona_health_metrics`: CPU, memory, pids, network and block I/O since the last sample,
/// workspace disk use, and what the persona did (LLM steps and tokens, active runs, open tool
/// calls). Stats come from the engine as one-shot samples (`one-shot=1`), up to
/// ``concurrency`` containers at once, so an interval costs one request per container; CPU %
/// and the I/O deltas are computed against the container's previous sample, kept here.
///
/// Why at once: Debian's engine (20.10) answers `one-shot` at once only for a container's first
/// request; after that each request waits for the stats collector's next 1-s tick. Requests
/// that are all in flight wait for the same tick, so a pass over 50 containers takes about one
/// second instead of fifty (or six with eight at a time). Once an hour it
/// merges rows older than a day into 5-minute rows and drops rows past `healthRetentionDays`.
package final class HealthMonitor: Service, Sendable {
    package let manager: ContainerManager
    package let startup: Gate
    package let logger: Logger
    let repository: HealthRepository
    let settings = SettingsRepository()

    /// The previous sample's counters of each container, by container id.
    struct Counters: Sendable {
        var cpuTotal: UInt64
        var systemCPU: UInt64?
        var rx: UInt64, tx: UInt64, read: UInt64, write: UInt64
        var at: Date
    }

    /// Stats requests in flight at once (the engine connection pool holds 256).
    static let concurrency = 64

    private let previous = Mutex<[String: Counters]>([:])
    /// Each persona's recent CPU figures (newest last) and restart count, for the alerts.
    private let recentCPU = Mutex<[String: [Double?]]>([:])
    private let restarts = Mutex<[String: Int]>([:])
    let alerts = AlertRepository()
    let audit = AuditRepository()
    let events = PersonaEventRepository()
    private let lastSample = Mutex<Date?>(nil)

    package init(manager: ContainerManager, startup: Gate, logger: Logger) {
        self.manager = manager
        self.startup = startup
        self.logger = logger
        self.repository = HealthRepository(kind: manager.database.kind)
    }

    /// The interval a sample stands for: the configured one, or the default 30 s when the
    /// service is off and a test or tool samples by hand.
    var nominalInterval: Double {
        manager.settings.healthIntervalSeconds > 0 ? manager.settings.healthIntervalSeconds : 30
    }

    package var interval: Duration? {
        manager.settings.healthIntervalSeconds > 0 ? .milliseconds(Int64(manager.settings.healthIntervalSeconds * 1000)) : nil
    }

    /// Samples until shutdown; with sampling off it only waits for shutdown (a service that
    /// returns would end the whole group).
    package func run() async throws {
        guard let interval else {
            try? await gracefulShutdown()
            return
        }
        await startup.wait()
        var lastMaintenance: Date?
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            let started = ContinuousClock.now
            do {
                let rows = try await sample()
                logger.debug("health sampled", metadata: ["containers": "\(rows.count)", "ms": "\((ContinuousClock.now - started).milliseconds)"])
                if lastMaintenance.map({ Date().timeIntervalSince($0) > 3600 }) ?? true {
                    try await maintain(now: Date())
                    lastMaintenance = Date()
                }
            } catch {
                logger.warning("health sampling failed", metadata: ["error": "\(error)"])
            }
            let next = started + interval
            try? await cancelWhenGracefulShutdown { try await Task.sleep(until: next) }
        }
    }

    /// Takes one sample of every running persona container and stores it; returns the rows.
    @discardableResult
    package func sample(now: Date = Date()) async throws -> [HealthSample] {
        let database = manager.database
        let records = try await database.withConnection { try await self.manager.repository.all(on: $0) }
            .filter { $0.desiredState == .running && $0.containerId != nil && $0.state != .failed && $0.state != .stopped }
        let since = lastSample.withLock { $0 } ?? now.addingTimeInterval(-nominalInterval)
        let activity = try await database.withConnection { try await self.repository.activity(since: since, until: now, on: $0) }
        let client = try await manager.docker.get()
        // A container the idle sweep paused does nothing: no sample (its counters are kept, so
        // the first sample after a wake covers the pause).
        let awake = records.filter { $0.state != .paused }
        let rows = await boundedConcurrentMap(awake, limit: Self.concurrency) { record -> HealthSample? in
            guard let id = record.containerId else { return nil }
            return await self.measure(record.personaId, containerId: id, client: client, now: now, activity: activity[record.personaId])
        }
        // Counters of containers that are gone are forgotten.
        let live = Set(records.compactMap(\.containerId))
        previous.withLock { $0 = $0.filter { live.contains($0.key) } }
        // No write transaction when there is nothing to write (an idle installation, start-up).
        // Each row is also a `health` event on the persona's live topic, in the same transaction.
        if !rows.isEmpty {
            let events = try rows.map { (personaId: $0.personaId, type: "health", data: try JSONCoding.encodeString($0)) }
            try await database.transaction { tx in
                try await self.repository.insert(rows, on: tx)
                try await self.events.append(events, now: now, on: tx)
            }
            database.eventsWritten.signal()
        }
        lastSample.withLock { $0 = now }
        try await evaluateAlerts(rows, records: records, now: now)
        return rows
    }

    /// Opens and resolves alerts from this pass: `cpu_high` (above `alertCpuPercent` in the last
    /// `alertCpuSamples` samples), `memory_high` (above `alertMemoryPercent` of the limit),
    /// `heartbeat_missed` (a registered supervisor silent past its deadline), `restarted` (the
    /// reconciler restarted the container since the last pass), `ingestion_failed` (a document of
    /// the persona failed to ingest in the last hour). One open alert per persona and
    /// kind; each change is audited (`alert.opened`, `alert.resolved`).
    func evaluateAlerts(_ rows: [HealthSample], records: [PersonaContainerRecord], now: Date) async throws {
        let settings = try await settings.load(in: manager.database)
        var changes: [(personaId: String, kind: PersonaAlert.Kind, open: Bool, message: String, value: Double?, threshold: Double?)] = []
        for row in rows {
            let window = recentCPU.withLock { state -> [Double?] in
                state[row.personaId, default: []].append(row.cpuPercent)
                state[row.personaId] = Array(state[row.personaId]!.suffix(100))
                return Array(state[row.personaId]!.suffix(settings.alertCpuSamples))
            }
            let cpuLimit = Double(settings.alertCpuPercent)
            if window.count == settings.alertCpuSamples, window.allSatisfy({ ($0 ?? 0) > cpuLimit }) {
                changes.append((row.personaId, .cpuHigh, true, "CPU above \(settings.alertCpuPercent) % in the last \(settings.alertCpuSamples) samples",
                                row.cpuPercent, cpuLimit))
            } else if let cpu = row.cpuPercent, cpu <= cpuLimit {
                changes.append((row.personaId, .cpuHigh, false, "", cpu, cpuLimit))
            }
            if let memory = row.memoryPercent {
                let limit = Double(settings.alertMemoryPercent)
                changes.append((row.personaId, .memoryHigh, memory > limit, "Memory at \(Int(memory)) % of the container's limit", memory, limit))
            }
        }
        for record in records {
            if record.state == .paused {
                // Paused on purpose: a frozen supervisor cannot beat, and that is no alarm.
                changes.append((record.personaId, .heartbeatMissed, false, "", nil, record.heartbeatDeadline))
            } else if record.registeredAt != nil, let beat = record.lastHeartbeatAt {
                let silent = now.timeIntervalSince(beat)
                changes.append((record.personaId, .heartbeatMissed, silent > record.heartbeatDeadline,
                                "No supervisor heartbeat for \(Int(silent)) s", silent, record.heartbeatDeadline))
            }
            let before = restarts.withLock { state -> Int? in
                defer { state[record.personaId] = record.restartCount }
                return state[record.personaId]
            }
            if let before {
                let restarted = record.restartCount > before
                changes.append((record.personaId, .restarted, restarted, "The container was restarted (\(record.restartCount) restarts in all)",
                                Double(record.restartCount), nil))
            }
        }
        // Only real changes are written: an open alert stays as it is, a quiet persona with
        // nothing open costs nothing.
        let open = try await manager.database.withConnection { try await self.alerts.open(on: $0) }
            .mapValues { Set($0.map(\.kind)) }
        // Documents that failed to ingest in the last hour, whether or not the container runs.
        let failed = try await manager.database.withConnection { try await DocumentRepository().failures(since: now.addingTimeInterval(-3600), on: $0) }
        for (personaId, count) in failed {
            changes.append((personaId, .ingestionFailed, true, "\(count) document(s) failed to ingest in the last hour", Double(count), nil))
        }
        for (personaId, kinds) in open where kinds.contains(.ingestionFailed) && failed[personaId] == nil {
            changes.append((personaId, .ingestionFailed, false, "", 0, nil))
        }
        let decided = changes.filter { change in
            (open[change.personaId]?.contains(change.kind) ?? false) != change.open
        }
        guard !decided.isEmpty else { return }
        try await manager.database.transaction { tx in
            for change in decided {
                if change.open {
                    guard let id = try await self.alerts.open(personaId: change.personaId, kind: change.kind, message: change.message,
                                                              value: change.value, threshold: change.threshold, now: now, on: tx) else { continue }
                    try await self.audit.insert(AuditEvent(userId: nil, personaId: change.personaId, traceId: nil, eventType: "alert.opened",
                                                           eventCategory: "alert", description: change.message,
                                                           metadata: ["alertId": .string(id), "kind": .string(change.kind.rawValue)]), on: tx)
                    self.logger.warning("alert opened", metadata: ["persona_id": "\(change.personaId)", "kind": "\(change.kind.rawValue)",
                                                                   "message": "\(change.message)"])
                } else if let id = try await self.alerts.resolve(personaId: change.personaId, kind: change.kind, now: now, on: tx) {
                    try await self.audit.insert(AuditEvent(userId: nil, personaId: change.personaId, traceId: nil, eventType: "alert.resolved",
                                                           eventCategory: "alert", description: "Alert resolved",
                                                           metadata: ["alertId": .string(id), "kind": .string(change.kind.rawValue)]), on: tx)
                }
            }
        }
        manager.database.eventsWritten.signal()
    }

    private func measure(_ personaId: String, containerId: String, client: Docker.Client, now: Date,
                         activity: HealthRepository.Activity?) async -> HealthSample? {
        let stats: Docker.ContainerStats
        do {
            stats = try await client.stats(containerId, oneShot: true)
        } catch {
            logger.debug("no stats for a container", metadata: ["persona_id": "\(personaId)", "error": "\(error)"])
            return nil
        }
        let cpu = stats.cpuStats?.cpuUsage?.totalUsage
        let rx = stats.networks?.values.reduce(UInt64(0)) { $0 &+ ($1.rxBytes ?? 0) } ?? 0
        let tx = stats.networks?.values.reduce(UInt64(0)) { $0 &+ ($1.txBytes ?? 0) } ?? 0
        let io: (read: UInt64, write: UInt64) = stats.blkioStats?.bytes ?? (0, 0)
        let current = Counters(cpuTotal: cpu ?? 0, systemCPU: stats.cpuStats?.systemCPUUsage, rx: rx, tx: tx, read: io.read, write: io.write, at: now)
        let before = previous.withLock { state -> Counters? in
            defer { state[containerId] = current }
            return state[containerId]
        }
        var sample = HealthSample(personaId: personaId, sampledAt: now,
                                  resolutionSeconds: Int(max(1, nominalInterval)),
                                  containerId: containerId)
        if let before, cpu != nil, current.cpuTotal >= before.cpuTotal {
            // Host CPU time when the engine reports it (as `docker stats`), else wall time.
            if let system = current.systemCPU, let was = before.systemCPU, system > was {
                sample.cpuPercent = Double(current.cpuTotal - before.cpuTotal) / Double(system - was) * Double(stats.cpuStats?.onlineCPUs ?? 1) * 100
            } else if now > before.at {
                sample.cpuPercent = Double(current.cpuTotal - before.cpuTotal) / (now.timeIntervalSince(before.at) * 1e9) * 100
            }
            func delta(_ a: UInt64, _ b: UInt64) -> Int64 { a >= b ? Int64(a - b) : 0 }
            sample.netRxBytes = delta(rx, before.rx)
            sample.netTxBytes = delta(tx, before.tx)
            sample.blockReadBytes = delta(io.read, before.read)
            sample.blockWriteBytes = delta(io.write, before.write)
        }
        if let working = stats.memoryStats?.workingSet {
            sample.memoryMb = Double(working) / 1_048_576
            if let limit = stats.memoryStats?.limit, limit > 0 { sample.memoryPercent = Double(working) / Double(limit) * 100 }
        }
        sample.pids = stats.pidsStats?.current.map(Int.init)
        let workspace = manager.personaStorage(personaId) + "/workspace"
        sample.workspaceBytes = try? await NIOThreadPool.singleton.runIfActive { Self.diskUse(workspace) }
        if let activity {
            sample.llmCalls = activity.llmCalls
            sample.llmTokens = activity.llmTokens
            sample.activeRuns = activity.activeRuns
            sample.openToolRuns = activity.openToolRuns
        }
        return sample
    }

    /// Merges day-old rows into 5-minute rows and drops rows past the retention setting.
    package func maintain(now: Date) async throws {
        let retention = try await settings.load(in: manager.database).healthRetentionDays
        let oldest = try await manager.database.withConnection { try await self.repository.oldest(on: $0) }
        guard let oldest, oldest < now.addingTimeInterval(-86_400) else { return }  // nothing to merge or drop
        try await manager.database.transaction { tx in
            let merged = try await self.repository.downsample(before: now.addingTimeInterval(-86_400), on: tx)
            let dropped = try await self.repository.delete(olderThan: now.addingTimeInterval(-Double(retention) * 86_400), on: tx)
            if merged + dropped > 0 {
                self.logger.info("health rows compacted", metadata: ["merged": "\(merged)", "dropped": "\(dropped)"])
            }
        }
    }

    /// Disk use (allocated blocks) under `path`, not following links, at most 200,000 entries.
    static func diskUse(_ path: String) -> Int64 {
        var total: Int64 = 0
        var budget = 200_000
        var stack = [path]
        while let directory = stack.popLast(), budget > 0 {
            guard let dir = opendir(directory) else { continue }
            defer { closedir(dir) }
            while let entry = readdir(dir), budget > 0 {
                let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
                if name == "." || name == ".." { continue }
                budget -= 1
                let child = directory + "/" + name
                var info = stat()
                guard lstat(child, &info) == 0 else { continue }
                total += Int64(info.st_blocks) * 512
                if info.st_mode & S_IFMT == S_IFDIR { stack.append(child) }
            }
        }
        return total
    }
}

private extension Duration {
    var milliseconds: Int64 { components.seconds * 1000 + components.attoseconds / 1_000_000_000_000_000 }
}
