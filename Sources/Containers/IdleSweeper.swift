import DockerEngine
import Foundation
import Logging
import PersonaCore
import PersonaKit
import PersonaStorage

/// Pauses the containers of idle personas (`personaIdleMinutes`) and stops those idle for
/// longer (`personaStopAfterIdleHours`), by the rules of ``IdlePolicy``. The ``Reconciler``
/// runs it after each periodic sweep.
///
/// Cheap at any count: a pass reads the settings and `persona_containers` (two queries) and
/// decides in memory; only personas past the idle period cost more (their runtime, and an
/// exec that counts VNC connections when a desktop runs). Each transition is claimed in the
/// database before the engine is touched (ContainerRepository+Idle), so a tool call arriving
/// at the same moment either wins or wakes the container it finds paused.
package struct IdleSweeper: Sendable {
    package let manager: ContainerManager
    var logger: Logger { manager.logger }

    /// What one pass did, by persona id.
    package struct Outcome: Sendable, Equatable {
        package var paused: [String] = []
        package var stopped: [String] = []
        /// Past the idle period but kept awake, with the reason.
        package var keptAwake: [String: String] = [:]
    }

    package init(manager: ContainerManager) {
        self.manager = manager
    }

    /// One pass over every persona container. Failures are logged, never thrown: the next
    /// pass tries again.
    @discardableResult
    package func sweep(now: Date = Date()) async -> Outcome {
        do {
            let policy = IdlePolicy(settings: try await manager.loadSettings(), minuteSeconds: manager.settings.idleMinuteSeconds,
                                    hourSeconds: manager.settings.idleHourSeconds)
            guard policy.isActive else { return Outcome() }
            let records = try await manager.database.withConnection { try await manager.repository.all(on: $0) }
            let due = records.compactMap { record in policy.action(for: record, now: now).map { (record, $0) } }
            guard !due.isEmpty else { return Outcome() }
            let client = try await manager.docker.get()
            let results = await boundedConcurrentMap(due, limit: 8) { item -> (String, Transition)? in
                (item.0.personaId, await self.apply(item.1, to: item.0, policy: policy, client: client, now: now))
            }
            var outcome = Outcome()
            for (personaId, result) in results {
                switch result {
                case .paused: outcome.paused.append(personaId)
                case .stopped: outcome.stopped.append(personaId)
                case .keptAwake(let reason): outcome.keptAwake[personaId] = reason
                case .skipped: break
                }
            }
            outcome.paused.sort()
            outcome.stopped.sort()
            return outcome
        } catch {
            logger.warning("idle sweep failed", metadata: ["error": "\(error)"])
            return Outcome()
        }
    }

    enum Transition: Sendable {
        case paused, stopped, keptAwake(String), skipped
    }

    private func apply(_ action: IdlePolicy.Action, to record: PersonaContainerRecord, policy: IdlePolicy, client: Docker.Client,
                       now: Date) async -> Transition {
        guard let containerId = record.containerId else { return .skipped }
        do {
            if record.state == .ready, let reason = try await keepAwakeReason(record, containerId: containerId, client: client) {
                // A VNC viewer is someone using the persona; the others only hold it awake.
                if reason == "VNC session open" { await manager.noteActivity(record.personaId, now: now) }
                return .keptAwake(reason)
            }
            let cutoff = policy.cutoff(for: action, now: now)
            switch action {
            case .pause:
                return try await pause(record.personaId, containerId: containerId, cutoff: cutoff, client: client, now: now) ? .paused : .skipped
            case .stop:
                return try await stop(record.personaId, containerId: containerId, cutoff: cutoff, client: client, now: now) ? .stopped : .skipped
            }
        } catch {
            logger.warning("idle transition failed", metadata: ["persona_id": "\(record.personaId)", "action": "\(action.rawValue)",
                                                                "error": "\(error)"])
            return .skipped
        }
    }

    private func keepAwakeReason(_ record: PersonaContainerRecord, containerId: String, client: Docker.Client) async throws -> String? {
        let runtime = try await manager.database.withConnection { try await manager.runtimes.find(personaId: record.personaId, on: $0) }
        var vnc = 0
        if IdlePolicy.mayHaveVNCClients(record.heartbeat) {
            vnc = await vncClients(containerId, client: client)
        }
        return IdlePolicy.keepAwakeReason(heartbeat: record.heartbeat, inFlight: manager.activity.inFlight(record.personaId),
                                          eagerSidecars: runtime.eagerSidecars, vncClients: vnc)
    }

    /// Open connections to the desktop's VNC port inside the container (an exec reading the
    /// container's `/proc/net/tcp*`: the connection is only visible in its network namespace).
    /// An exec that fails counts as a connection: better awake than a viewer cut off.
    func vncClients(_ containerId: String, client: Docker.Client) async -> Int {
        do {
            let result = try await client.exec(["cat", "/proc/net/tcp", "/proc/net/tcp6"], in: containerId)
            return IdlePolicy.establishedConnections(toPort: ContainerManager.vncPort, procNetTCP: result.stdout)
        } catch {
            logger.warning("could not count VNC connections", metadata: ["container": "\(containerId.prefix(12))", "error": "\(error)"])
            return 1
        }
    }

    /// Claims the pause, then freezes the container. When the engine refuses, the claim is
    /// given back; when a wake came in between (another control plane's, whose unpause found
    /// nothing frozen yet), the container is thawed again.
    private func pause(_ personaId: String, containerId: String, cutoff: Date, client: Docker.Client, now: Date) async throws -> Bool {
        try await manager.locks.withLock(personaId) {
            guard manager.activity.inFlight(personaId) == 0 else { return false }
            let claimed = try await manager.database.withConnection {
                try await manager.repository.claimPause(personaId: personaId, containerId: containerId, cutoff: cutoff, now: now, on: $0)
            }
            guard claimed else { return false }
            do {
                try await client.pauseContainer(containerId)
            } catch {
                // 409 "already paused" is a pause; anything else is not.
                let inspect = try? await client.inspectContainer(containerId)
                if inspect?.state.paused != true {
                    _ = try? await manager.database.withConnection {
                        try await manager.repository.endPause(personaId: personaId, now: Date(), on: $0)
                    }
                    throw error
                }
            }
            guard let after = try await manager.find(personaId), after.state == .paused, after.containerId == containerId else {
                try? await client.unpauseContainer(containerId)
                return false
            }
            logger.info("persona container paused for idleness", metadata: ["persona_id": "\(personaId)", "container": "\(containerId.prefix(12))"])
            return true
        }
    }

    /// Claims the stop (desired state stays `running`), then stops and removes the container:
    /// thawed first when paused, so the supervisor shuts down cleanly instead of being killed.
    private func stop(_ personaId: String, containerId: String, cutoff: Date, client: Docker.Client, now: Date) async throws -> Bool {
        try await manager.locks.withLock(personaId) {
            guard manager.activity.inFlight(personaId) == 0 else { return false }
            let claimed = try await manager.database.withConnection {
                try await manager.repository.claimIdleStop(personaId: personaId, containerId: containerId, cutoff: cutoff, now: now, on: $0)
            }
            guard claimed else { return false }
            if let inspect = try? await client.inspectContainer(containerId), inspect.state.paused {
                try? await client.unpauseContainer(containerId)
            }
            do {
                _ = try await client.stopContainer(containerId, timeout: .seconds(manager.settings.containerStopTimeoutSeconds))
            } catch let error as DockerError where error.code == .noSuchContainer {
            }
            // A container left behind is removed by the reconciler (the record no longer names it).
            try await manager.removeContainers(personaId: personaId, knownId: containerId, client: client)
            logger.info("persona container stopped for idleness", metadata: ["persona_id": "\(personaId)", "container": "\(containerId.prefix(12))"])
            return true
        }
    }
}
