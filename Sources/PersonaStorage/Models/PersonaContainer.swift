import Foundation
import PersonaKit
import SQLKit

/// What an operator asked for: the persona's container running, or not.
package enum DesiredState: String, Codable, Sendable {
    case running, stopped
}

/// What the API reports for a persona's container.
public enum ContainerState: String, Codable, Sendable, CaseIterable {
    /// No container runs (never started, stopped, or exited cleanly).
    case stopped
    /// Created and started; the supervisor has not registered yet (or a restart is pending).
    case starting
    /// The supervisor registered and its heartbeats are fresh.
    case ready
    /// Running, but the engine's health check fails, heartbeats stopped, or it crashed and a
    /// restart is scheduled.
    case unhealthy
    /// Could not be created or started, or crashed more often than the restart policy allows.
    case failed
    /// Frozen (`docker pause`, memory kept) after `personaIdleMinutes` without activity; the
    /// next tool call, run step, desktop request or trigger unpauses it.
    case paused
}

/// A row of `persona_containers`: desired state, what was last seen, and the container token
/// (hashed for lookups, sealed so the control plane can call the supervisor after a restart).
package struct PersonaContainerRecord: Sendable {
    package var personaId: String
    package var desiredState: DesiredState
    package var state: ContainerState
    package var containerId: String?
    package var containerName: String
    package var image: String
    package var tokenHash: String
    package var tokenSealed: String
    package var bootId: String?
    package var supervisorVersion: String?
    package var registeredAt: Date?
    package var lastHeartbeatAt: Date?
    package var heartbeat: Heartbeat?
    package var heartbeatIntervalSeconds: Int
    package var eventSequence: Int64
    package var exitCode: Int?
    package var lastError: String?
    package var restartCount: Int
    package var restartAfter: Date?
    package var startedAt: Date?
    package var stoppedAt: Date?
    package var createdAt: Date
    package var updatedAt: Date
    /// The last activity seen: a tool call, a run step, a desktop request or a wake (written at
    /// most every few seconds per persona).
    package var lastActiveAt: Date?
    /// When the idle sweep paused the container (meaningful while `state` is `paused`).
    package var pausedAt: Date?
    /// When the idle sweep stopped the container; `desiredState` stays `running`, so the next
    /// use starts it again. Cleared by the next start.
    package var idleStoppedAt: Date?

    package init(row: any SQLRow) throws {
        personaId = try row.decode(column: "persona_id", as: String.self)
        desiredState = DesiredState(rawValue: try row.decode(column: "desired_state", as: String.self)) ?? .stopped
        state = ContainerState(rawValue: try row.decode(column: "state", as: String.self)) ?? .failed
        containerId = try row.decode(column: "container_id", as: String?.self)
        containerName = try row.decode(column: "container_name", as: String.self)
        image = try row.decode(column: "image", as: String.self)
        tokenHash = try row.decode(column: "token_hash", as: String.self)
        tokenSealed = try row.decode(column: "token_sealed", as: String.self)
        bootId = try row.decode(column: "boot_id", as: String?.self)
        supervisorVersion = try row.decode(column: "supervisor_version", as: String?.self)
        registeredAt = try row.decode(column: "registered_at", as: Date?.self)
        lastHeartbeatAt = try row.decode(column: "last_heartbeat_at", as: Date?.self)
        heartbeat = try row.decode(column: "heartbeat", as: String?.self).flatMap { try? JSONCoding.decode(Heartbeat.self, from: $0) }
        heartbeatIntervalSeconds = try row.decode(column: "heartbeat_interval_seconds", as: Int.self)
        eventSequence = try row.decode(column: "event_sequence", as: Int64.self)
        exitCode = try row.decode(column: "exit_code", as: Int?.self)
        lastError = try row.decode(column: "last_error", as: String?.self)
        restartCount = try row.decode(column: "restart_count", as: Int.self)
        restartAfter = try row.decode(column: "restart_after", as: Date?.self)
        startedAt = try row.decode(column: "started_at", as: Date?.self)
        stoppedAt = try row.decode(column: "stopped_at", as: Date?.self)
        createdAt = try row.decode(column: "created_at", as: Date.self)
        updatedAt = try row.decode(column: "updated_at", as: Date.self)
        lastActiveAt = try row.decode(column: "last_active_at", as: Date?.self)
        pausedAt = try row.decode(column: "paused_at", as: Date?.self)
        idleStoppedAt = try row.decode(column: "idle_stopped_at", as: Date?.self)
    }

    /// Since when the persona has been idle: its last activity, or its start when it has done
    /// nothing since.
    package var idleSince: Date? {
        switch (lastActiveAt, startedAt) {
        case let (active?, started?): max(active, started)
        case let (active, started): active ?? started
        }
    }

    /// Heartbeats older than this mean the supervisor stopped answering.
    package var heartbeatDeadline: TimeInterval { Double(heartbeatIntervalSeconds * 3 + 5) }
}

/// `GET /api/personas/{id}/container`.
package struct ContainerStatusDTO: Codable, Sendable {
    package struct Resources: Codable, Sendable {
        package var cpuPercent: Double?
        package var memoryBytes: Int?
        package var memoryLimitBytes: Int?
        package var pids: Int?
        /// When the figures were taken: the health monitor's latest sample, or now when the
        /// engine was asked.
        package var sampledAt: Date?

        package init(cpuPercent: Double? = nil, memoryBytes: Int? = nil, memoryLimitBytes: Int? = nil, pids: Int? = nil,
                     sampledAt: Date? = nil) {
            self.cpuPercent = cpuPercent
            self.memoryBytes = memoryBytes
            self.memoryLimitBytes = memoryLimitBytes
            self.pids = pids
            self.sampledAt = sampledAt
        }
    }

    package struct Ports: Codable, Sendable {
        /// `127.0.0.1:PORT` of the supervisor when the control channel is TCP.
        package var supervisor: String?

        package init(supervisor: String? = nil) {
            self.supervisor = supervisor
        }
    }

    package var personaId: String
    package var state: ContainerState
    package var desiredState: String
    package var containerId: String?
    package var containerName: String?
    package var image: String?
    /// The engine's health check (`starting`, `healthy`, `unhealthy`) when the container runs.
    package var health: String?
    package var supervisor: SupervisorStatus?
    package var startedAt: Date?
    package var stoppedAt: Date?
    package var exitCode: Int?
    package var restartCount: Int
    package var lastError: String?
    package var hostPorts: Ports
    package var resources: Resources?
    /// The last activity (tool call, run step, desktop request, wake) while the persona is
    /// meant to run: idle since then.
    package var idleSince: Date?
    /// When the idle sweep paused the container (state `paused`).
    package var pausedAt: Date?
    /// When the idle sweep stopped it (state `stopped`, desired state still `running`: the next
    /// use starts it again).
    package var idleStoppedAt: Date?

    package struct SupervisorStatus: Codable, Sendable {
        package var version: String?
        package var bootId: String?
        package var registeredAt: Date?
        package var lastHeartbeatAt: Date?
        package var status: String?
        package var rssBytes: Int?
        package var runningInvocations: Int?
        package var outboxDepth: Int?
        package var sidecars: [SidecarHealth]

        package init(version: String? = nil, bootId: String? = nil, registeredAt: Date? = nil, lastHeartbeatAt: Date? = nil, status: String? = nil, rssBytes: Int? = nil, runningInvocations: Int? = nil, outboxDepth: Int? = nil, sidecars: [SidecarHealth]) {
            self.version = version
            self.bootId = bootId
            self.registeredAt = registeredAt
            self.lastHeartbeatAt = lastHeartbeatAt
            self.status = status
            self.rssBytes = rssBytes
            self.runningInvocations = runningInvocations
            self.outboxDepth = outboxDepth
            self.sidecars = sidecars
        }
    }

    package init(personaId: String, state: ContainerState, desiredState: String, containerId: String? = nil, containerName: String? = nil, image: String? = nil, health: String? = nil, supervisor: SupervisorStatus? = nil, startedAt: Date? = nil, stoppedAt: Date? = nil, exitCode: Int? = nil, restartCount: Int, lastError: String? = nil, hostPorts: Ports, resources: Resources? = nil, idleSince: Date? = nil, pausedAt: Date? = nil, idleStoppedAt: Date? = nil) {
        self.personaId = personaId
        self.state = state
        self.desiredState = desiredState
        self.containerId = containerId
        self.containerName = containerName
        self.image = image
        self.health = health
        self.supervisor = supervisor
        self.startedAt = startedAt
        self.stoppedAt = stoppedAt
        self.exitCode = exitCode
        self.restartCount = restartCount
        self.lastError = lastError
        self.hostPorts = hostPorts
        self.resources = resources
        self.idleSince = idleSince
        self.pausedAt = pausedAt
        self.idleStoppedAt = idleStoppedAt
    }
}

