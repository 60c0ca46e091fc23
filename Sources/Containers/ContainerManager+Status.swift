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
    package func status(_ personaId: String, trace: TraceContext, resources withResources: Bool = false) async throws -> ContainerStatusDTO {
        guard let record = try await find(personaId) else {
            return ContainerStatusDTO(personaId: personaId, state: .stopped, desiredState: DesiredState.stopped.rawValue,
                                      restartCount: 0, hostPorts: .init())
        }
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
        if withResources, let inspect, inspect.state.running, let stats = try? await client.stats(inspect.id, oneShot: true) {
            resources = .init(cpuPercent: stats.cpuPercent.map { ($0 * 100).rounded() / 100 },
                              memoryBytes: stats.memoryStats?.workingSet.map(Int.init),
                              memoryLimitBytes: stats.memoryStats?.limit.map(Int.init),
                              pids: stats.pidsStats?.current.map(Int.init))
        }
        return Self.describe(record, inspect: inspect, resources: resources, now: Date())
    }

    package static func state(of record: PersonaContainerRecord, inspect: Docker.ContainerInspect?, now: Date) -> ContainerState {
        if record.state == .failed { return .failed }
        guard let inspect, inspect.state.running else {
            if record.desiredState == .running, record.restartAfter != nil { return .unhealthy }
            if record.desiredState == .running, record.containerId != nil, inspect == nil { return .stopped }
            return record.desiredState == .running && inspect?.state.status == "created" ? .starting : .stopped
        }
        guard record.registeredAt != nil, record.bootId != nil else { return .starting }
        if inspect.state.health?.status == "unhealthy" { return .unhealthy }
        if let beat = record.lastHeartbeatAt, now.timeIntervalSince(beat) > record.heartbeatDeadline { return .unhealthy }
        if record.heartbeat?.status == "degraded" { return .unhealthy }
        return .ready
    }

    package static func describe(_ record: PersonaContainerRecord, inspect: Docker.ContainerInspect?,
                         resources: ContainerStatusDTO.Resources?, now: Date) -> ContainerStatusDTO {
        let supervisorPort = inspect?.networkSettings?.ports?["\(Self.supervisorPort)/tcp"]??.first
        return ContainerStatusDTO(
            personaId: record.personaId, state: state(of: record, inspect: inspect, now: now),
            desiredState: record.desiredState.rawValue,
            containerId: inspect?.id ?? record.containerId, containerName: record.containerName, image: record.image,
            health: inspect?.state.running == true ? inspect?.state.health?.status : nil,
            supervisor: record.bootId == nil ? nil : .init(
                version: record.supervisorVersion, bootId: record.bootId, registeredAt: record.registeredAt,
                lastHeartbeatAt: record.lastHeartbeatAt, status: record.heartbeat?.status, rssBytes: record.heartbeat?.rssBytes,
                runningInvocations: record.heartbeat?.runningInvocations, outboxDepth: record.heartbeat?.outboxDepth,
                sidecars: record.heartbeat?.sidecars ?? []),
            startedAt: record.startedAt, stoppedAt: record.stoppedAt, exitCode: record.exitCode,
            restartCount: record.restartCount, lastError: record.lastError,
            hostPorts: .init(supervisor: supervisorPort.flatMap { port in port.hostPort.map { "\(port.hostIP ?? "127.0.0.1"):\($0)" } }),
            resources: resources)
    }

    /// Waits for the current boot's registration.
    package func waitUntilReady(_ personaId: String, timeout: Duration) async -> Bool {
        await waiters.wait(personaId, timeout: timeout) {
            guard let record = try? await self.find(personaId) else { return false }
            return record.state == .ready || record.state == .failed
        }
    }
}
