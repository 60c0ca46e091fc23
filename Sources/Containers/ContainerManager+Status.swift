import DockerEngine
import Foundation
import PersonaKit
import PersonaStorage

extension ContainerManager {
    // MARK: Status

    package func find(_ personaId: String) async throws -> PersonaContainerRecord? {
        try await database.withConnection { try await self.repository.find(personaId: personaId, on: $0) }
    }

    package func update(_ personaId: String, _ values: [String: (any Encodable & Sendable)?]) async throws {
        try await database.withConnection { try await self.repository.update(personaId: personaId, values, now: Date(), on: $0) }
    }

    /// Live status: the record, checked against the engine (state, health, ports and, with
    /// `resources`, usage: the engine's stats can take up to its 1 s collection interval for a
    /// new container, so start and stop answer without them).
    ///
    /// The heartbeat's age is judged as of the moment the record was read: an engine that
    /// takes seconds to answer the inspect (it does, under load) must not make a heartbeat
    /// that was fresh when read look missed.
    package func status(_ personaId: String, trace: TraceContext, resources withResources: Bool = false) async throws -> ContainerStatusDTO {
        guard let record = try await find(personaId) else {
            return ContainerStatusDTO(personaId: personaId, state: .stopped, desiredState: DesiredState.stopped.rawValue,
                                      restartCount: 0, hostPorts: .init())
        }
        let readAt = Date()
        let client = try await docker.get()
        var inspect: Docker.ContainerInspect?
        if let id = record.containerId {
            do {
                inspect = try await client.inspectContainer(id)
            } catch let error as DockerError where error.code == .noSuchContainer {
                inspect = nil
            } catch {
                throw ContainerErrors.map(error, endpoint: settings.dockerEndpoint)
            }
        }
        var resources: ContainerStatusDTO.Resources?
        // A paused container has no usage to show (its last sample is in the health series).
        if withResources, let inspect, inspect.state.running, !inspect.state.paused {
            // The health monitor's latest sample of this container when it is fresh (one
            // indexed row); the engine only when sampling is off or behind.
            if let sample = try await latestSample(personaId, containerId: inspect.id) {
                var memory: Int?
                var limit: Int?
                if let megabytes = sample.memoryMb {
                    let bytes = megabytes * 1_048_576
                    memory = Int(bytes)
                    if let percent = sample.memoryPercent, percent > 0 { limit = Int((bytes * 100 / percent).rounded()) }
                }
                let cpu: Double? = sample.cpuPercent.map { ($0 * 100).rounded() / 100 }
                resources = .init(cpuPercent: cpu, memoryBytes: memory, memoryLimitBytes: limit, pids: sample.pids,
                                  sampledAt: sample.sampledAt)
            } else if let stats = try? await client.stats(inspect.id, oneShot: true) {
                resources = .init(cpuPercent: stats.cpuPercent.map { ($0 * 100).rounded() / 100 },
                                  memoryBytes: stats.memoryStats?.workingSet.map(Int.init),
                                  memoryLimitBytes: stats.memoryStats?.limit.map(Int.init),
                                  pids: stats.pidsStats?.current.map(Int.init), sampledAt: Date())
            }
        }
        return Self.describe(record, inspect: inspect, resources: resources, now: readAt)
    }

    /// The health monitor's newest sample of `containerId`, if it is at most two and a half
    /// intervals old (`nil` when sampling is off).
    func latestSample(_ personaId: String, containerId: String) async throws -> HealthSample? {
        guard settings.healthIntervalSeconds > 0 else { return nil }
        let sample = try await database.withConnection { try await HealthRepository(kind: self.database.kind).latest(personaId: personaId, on: $0) }
        guard let sample, sample.containerId == containerId,
              Date().timeIntervalSince(sample.sampledAt) <= settings.healthIntervalSeconds * 2.5 else { return nil }
        return sample
    }

    package static func state(of record: PersonaContainerRecord, inspect: Docker.ContainerInspect?, now: Date) -> ContainerState {
        if record.state == .failed { return .failed }
        guard let inspect, inspect.state.running else {
            if record.desiredState == .running, record.restartAfter != nil { return .unhealthy }
            if record.desiredState == .running, record.containerId != nil, inspect == nil { return .stopped }
            return record.desiredState == .running && inspect?.state.status == "created" ? .starting : .stopped
        }
        // Frozen by the idle sweep. Frozen by hand it is a silent supervisor: unhealthy below.
        if inspect.state.paused, record.state == .paused { return .paused }
        guard record.registeredAt != nil, record.bootId != nil else { return .starting }
        if engineHealth(inspect) == "unhealthy" { return .unhealthy }
        if let beat = record.lastHeartbeatAt, now.timeIntervalSince(beat) > record.heartbeatDeadline { return .unhealthy }
        if record.heartbeat?.status == "degraded" { return .unhealthy }
        return .ready
    }

    /// The engine's health check of a running container (`nil` when paused, or unknown). When
    /// a pause stops the engine's health monitor it marks the container `unhealthy` without a
    /// failed probe ("for compatibility", moby), and that stays until the first probe after the
    /// unpause, up to an interval later: `unhealthy` with no failing probe is no verdict.
    static func engineHealth(_ inspect: Docker.ContainerInspect) -> String? {
        guard inspect.state.running, !inspect.state.paused, let health = inspect.state.health else { return nil }
        if health.status == "unhealthy", health.failingStreak == 0 { return nil }
        return health.status
    }

    package static func describe(_ record: PersonaContainerRecord, inspect: Docker.ContainerInspect?,
                         resources: ContainerStatusDTO.Resources?, now: Date) -> ContainerStatusDTO {
        let supervisorPort = inspect?.networkSettings?.ports?["\(Self.supervisorPort)/tcp"]??.first
        return ContainerStatusDTO(
            personaId: record.personaId, state: state(of: record, inspect: inspect, now: now),
            desiredState: record.desiredState.rawValue,
            containerId: inspect?.id ?? record.containerId, containerName: record.containerName, image: record.image,
            health: inspect.flatMap(engineHealth),
            supervisor: record.bootId == nil ? nil : .init(
                version: record.supervisorVersion, bootId: record.bootId, registeredAt: record.registeredAt,
                lastHeartbeatAt: record.lastHeartbeatAt, status: record.heartbeat?.status, rssBytes: record.heartbeat?.rssBytes,
                runningInvocations: record.heartbeat?.runningInvocations, outboxDepth: record.heartbeat?.outboxDepth,
                sidecars: record.heartbeat?.sidecars ?? []),
            startedAt: record.startedAt, stoppedAt: record.stoppedAt, exitCode: record.exitCode,
            restartCount: record.restartCount, lastError: record.lastError,
            hostPorts: .init(supervisor: supervisorPort.flatMap { port in port.hostPort.map { "\(port.hostIP ?? "127.0.0.1"):\($0)" } }),
            resources: resources,
            idleSince: record.desiredState == .running ? record.idleSince : nil,
            pausedAt: record.state == .paused ? record.pausedAt : nil,
            idleStoppedAt: record.state == .stopped && record.desiredState == .running ? record.idleStoppedAt : nil)
    }

    /// Waits for the current boot's registration.
    package func waitUntilReady(_ personaId: String, timeout: Duration) async -> Bool {
        await waiters.wait(personaId, timeout: timeout) {
            guard let record = try? await self.find(personaId) else { return false }
            return record.state == .ready || record.state == .failed
        }
    }
}
