import DockerEngine
import Foundation
import Logging
import PersonaKit
import ServiceLifecycle
import PersonaStorage
import PersonaCore
import Synchronization

/// Keeps the engine in line with `persona_containers`: driven by the Docker events stream of
/// this installation's containers, plus a periodic sweep (and one at every subscription, so a
/// control-plane restart adopts what runs instead of duplicating it).
///
/// - A container that dies while it should run is restarted with exponential backoff, up to
///   the `personaRestartMaxAttempts` setting, then marked `failed` (and kept for `docker logs`).
///   A clean exit (exit code 0: someone ran `docker stop`) is respected: desired becomes stopped.
/// - A container removed behind our back is noted; the next start or tool call recreates it.
/// - A managed container without a persona (or a second one for the same persona) is removed.
/// - An unreachable engine is logged once per outage and retried with backoff; nothing crashes.
/// - A paused container is alive, not crashed: it is left alone (the ``IdleSweeper``, run
///   after each periodic sweep, pauses and stops idle personas; a wake thaws them).
package struct Reconciler: Service {
    package let database: Database
    package let containers: ContainerManager
    /// Opened once migrations ran; loops wait on it before their first query.
    package let startup: Gate
    package let personas = PersonaRepository()
    package let logger: Logger
    package var manager: ContainerManager { containers }
    /// When scheduled crash restarts are due (kept in memory: the sweep re-reads them from the
    /// database after a restart of the control plane), so waiting for one costs no queries.
    package let restarts = RestartSchedule()

    package init(database: Database, containers: ContainerManager, startup: Gate, logger: Logger) {
        self.database = database
        self.containers = containers
        self.startup = startup
        self.logger = logger
    }

    package static let restartBaseDelay: Double = 1
    package static let restartMaxDelay: Double = 60

    package func run() async throws {
        await startup.wait()
        var delay: Double = 0.5
        var reportedOutage = false
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            do {
                let client = try await manager.docker.get()
                let instance = try await manager.instanceId()
                let stream = try await client.events(filters: ["type": ["container"], "label": ["io.persona.instance=\(instance)"]],
                                                     reconnect: Docker.ReconnectPolicy(maximumAttempts: 5))
                if reportedOutage { logger.info("Docker engine reachable again; reconciling") }
                reportedOutage = false
                delay = 0.5
                await sweep()
                try await cancelWhenGracefulShutdown {
                    try await withThrowingTaskGroup(of: Void.self) { group in
                        group.addTask {
                            for try await element in stream {
                                switch element {
                                case .event(let event):
                                    await handle(event)
                                case .resumed:
                                    await sweep()
                                }
                            }
                        }
                        group.addTask {
                            while true {
                                try await Task.sleep(for: .milliseconds(250))
                                try await restartDue()
                            }
                        }
                        group.addTask {
                            let idle = IdleSweeper(manager: manager)
                            while true {
                                try await Task.sleep(for: .seconds(manager.settings.reconcileIntervalSeconds))
                                await sweep()
                                await idle.sweep()
                            }
                        }
                        try await group.next()
                        group.cancelAll()
                    }
                }
            } catch is CancellationError {
                return
            } catch {
                if !reportedOutage {
                    logger.warning("reconciler cannot reach the Docker engine; retrying", metadata: ["error": "\(error)"])
                    reportedOutage = true
                }
            }
            try? await Task.sleep(for: .seconds(delay))
            delay = min(delay * 2, 30)
        }
    }

    private func handle(_ event: Docker.Event) async {
        guard let personaId = event.actor.attributes?["io.persona.persona-id"] else { return }
        switch event.actionName {
        case "die", "destroy", "oom", "stop", "kill":
            await reconcileLogged(personaId)
        case "health_status":
            break  // read live by the status route
        default:
            break
        }
    }

    /// Reconciles every persona with a record or a container.
    package func sweep() async {
        do {
            let client = try await manager.docker.get()
            let instance = try await manager.instanceId()
            let containers = try await client.listContainers(all: true, filters: Docker.Filters.label("io.persona.instance", instance))
            let records = try await database.withConnection { try await manager.repository.all(on: $0) }
            var ids = Set(records.map(\.personaId))
            for container in containers {
                if let id = container.labels?["io.persona.persona-id"] { ids.insert(id) }
            }
            for id in ids.sorted() { await reconcileLogged(id) }
        } catch {
            logger.warning("reconciler sweep failed", metadata: ["error": "\(error)"])
        }
    }

    private func restartDue() async throws {
        for personaId in restarts.takeDue(now: Date()) { await reconcileLogged(personaId) }
    }

    private func reconcileLogged(_ personaId: String) async {
        do {
            try await reconcile(personaId)
        } catch {
            logger.warning("reconciling a persona failed", metadata: ["persona_id": "\(personaId)", "error": "\(error)"])
        }
    }

    /// Brings one persona's containers in line with its record.
    package func reconcile(_ personaId: String) async throws {
        try await manager.locks.withLock(personaId) {
            let client = try await manager.docker.get()
            let instance = try await manager.instanceId()
            let containers = try await client.listContainers(all: true, filters: Docker.Filters.label("io.persona.instance", instance)
                .label("io.persona.persona-id", personaId))
            let persona = try await database.withConnection { try await personas.find(id: personaId, on: $0) }
            let record = try await manager.find(personaId)
            guard persona != nil, let record else {
                for container in containers {
                    logger.notice("removing a managed container without a persona", metadata: ["persona_id": "\(personaId)",
                                                                                                 "container": "\(container.id.prefix(12))"])
                    try? await client.removeContainer(container.id, force: true)
                }
                return
            }
            // Adopt the recorded container (or the only one there is); remove any other. One
            // stopped for idleness is not adopted: its stop removes it, or this removes what is left.
            let current = containers.first { $0.id == record.containerId }
                ?? (record.containerId == nil && record.idleStoppedAt == nil ? containers.first : nil)
            for container in containers where container.id != current?.id {
                logger.notice("removing a duplicate persona container", metadata: ["persona_id": "\(personaId)",
                                                                                   "container": "\(container.id.prefix(12))"])
                try? await client.removeContainer(container.id, force: true)
            }
            guard let current else {
                if record.containerId != nil {
                    logger.warning("persona container was removed outside the control plane", metadata: ["persona_id": "\(personaId)"])
                    try await manager.update(personaId, [
                        "container_id": nil, "state": ContainerState.stopped.rawValue, "boot_id": nil, "restart_after": nil,
                        "last_error": record.desiredState == .running
                            ? "The container was removed outside the control plane; a start or a tool call recreates it" : nil,
                    ])
                }
                return
            }
            if current.id != record.containerId { try await manager.update(personaId, ["container_id": current.id]) }
            let inspect = try await client.inspectContainer(current.id)
            if inspect.state.running {
                if record.state == .paused, !inspect.state.paused, record.desiredState == .running {
                    // Thawed outside the control plane (or by another one mid-pause): it runs.
                    try await database.withConnection { try await manager.repository.endPause(personaId: personaId, now: Date(), on: $0) }
                }
                if record.desiredState == .stopped {
                    _ = try? await client.stopContainer(current.id, timeout: .seconds(manager.settings.containerStopTimeoutSeconds))
                    try? await client.removeContainer(current.id, force: true)
                    try await manager.update(personaId, ["container_id": nil, "state": ContainerState.stopped.rawValue,
                                                         "stopped_at": Date(), "boot_id": nil])
                }
                return
            }
            guard record.desiredState == .running else {
                try? await client.removeContainer(current.id, force: true)
                try await manager.update(personaId, ["container_id": nil, "state": ContainerState.stopped.rawValue])
                return
            }
            guard record.state != .failed else { return }
            guard inspect.state.status != "created" || record.startedAt.map({ Date().timeIntervalSince($0) > 30 }) == true else {
                return  // being started right now
            }
            let exitCode = inspect.state.exitCode
            if exitCode == 0, !inspect.state.oomKilled {
                // A clean exit: an operator stopped it. Respect that.
                logger.notice("persona container exited cleanly; marking it stopped", metadata: ["persona_id": "\(personaId)"])
                try? await client.removeContainer(current.id, force: true)
                try await manager.update(personaId, [
                    "desired_state": DesiredState.stopped.rawValue, "state": ContainerState.stopped.rawValue, "container_id": nil,
                    "exit_code": 0, "stopped_at": Date(), "boot_id": nil, "restart_after": nil,
                ])
                return
            }
            let why = inspect.state.oomKilled ? "was killed for exceeding its memory limit" : "exited with code \(exitCode)"
            let settings = try await manager.loadSettings()
            if record.restartCount >= settings.personaRestartMaxAttempts {
                logger.error("persona container keeps crashing; giving up", metadata: ["persona_id": "\(personaId)", "exit_code": "\(exitCode)"])
                try await manager.update(personaId, [
                    "state": ContainerState.failed.rawValue, "exit_code": exitCode, "restart_after": nil, "boot_id": nil,
                    "last_error": "The container \(why) and was restarted \(record.restartCount) times; it is kept for docker logs",
                ])
                return
            }
            guard let after = record.restartAfter else {
                let delay = min(Self.restartBaseDelay * pow(2, Double(record.restartCount)), Self.restartMaxDelay)
                let after = Date().addingTimeInterval(delay)
                logger.warning("persona container crashed; restarting", metadata: ["persona_id": "\(personaId)", "exit_code": "\(exitCode)",
                                                                                   "in_seconds": "\(delay)"])
                try await manager.update(personaId, [
                    "state": ContainerState.unhealthy.rawValue, "exit_code": exitCode, "boot_id": nil,
                    "restart_after": after,
                    "last_error": "The container \(why); restart \(record.restartCount + 1) of \(settings.personaRestartMaxAttempts) in \(Int(delay.rounded(.up))) s",
                ])
                restarts.schedule(personaId, at: after)
                return
            }
            guard after <= Date() else {
                restarts.schedule(personaId, at: after)
                return
            }
            try await manager.update(personaId, ["restart_count": record.restartCount + 1, "restart_after": nil,
                                                 "state": ContainerState.starting.rawValue, "started_at": Date(), "boot_id": nil,
                                                 "registered_at": nil])
            do {
                _ = try await client.startContainer(current.id)
            } catch {
                try await manager.update(personaId, ["state": ContainerState.failed.rawValue,
                                                     "last_error": "Restarting the container failed: \(error)"])
            }
        }
    }
}

/// Due times of scheduled crash restarts, by persona.
package final class RestartSchedule: Sendable {
    private let due = Mutex<[String: Date]>([:])

    package func schedule(_ personaId: String, at date: Date) {
        due.withLock { $0[personaId] = date }
    }

    /// The personas whose restart is due, removed from the schedule.
    package func takeDue(now: Date) -> [String] {
        due.withLock { due in
            let ready = due.filter { $0.value <= now }.map(\.key)
            for id in ready { due[id] = nil }
            return ready.sorted()
        }
    }
}
