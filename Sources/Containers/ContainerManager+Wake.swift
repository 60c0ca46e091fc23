import DockerEngine
import Foundation
import PersonaKit
import PersonaStorage

extension ContainerManager {
    // MARK: Activity and wake on demand

    /// Notes that the persona is in use now (`last_active_at`): at most one write per persona
    /// and `activityWriteSeconds` from this process. Never throws (a failed write is logged and
    /// retried with the next activity).
    package func noteActivity(_ personaId: String, now: Date = Date()) async {
        guard activity.claimWrite(personaId, now: now, interval: settings.activityWriteSeconds) else { return }
        do {
            try await database.withConnection { try await self.repository.touch(personaId: personaId, now: now, on: $0) }
        } catch {
            activity.forgetWrite(personaId)
            logger.warning("could not note a persona's activity", metadata: ["persona_id": "\(personaId)", "error": "\(error)"])
        }
    }

    /// Wakes the persona's container for a use that is about to happen, and notes the activity:
    /// one the idle sweep paused is unpaused, one that should run but does not (stopped for
    /// idleness, or removed behind the control plane's back) is started and waited for up to
    /// `timeout`. A persona an operator stopped stays stopped. This is the entry point for
    /// anything that uses a persona outside a tool call (email triggers, the desktop); tool
    /// calls wake it through ``ensureReady(_:timeout:trace:)``.
    /// - Returns: the record after waking (`nil`: the persona has never been started).
    /// - Throws: `APIError` when the engine refuses the unpause or the start.
    @discardableResult
    package func wake(_ personaId: String, timeout: Duration = .seconds(60), trace: TraceContext) async throws -> PersonaContainerRecord? {
        await noteActivity(personaId)
        guard let record = try await find(personaId), record.desiredState == .running else { return try await find(personaId) }
        switch record.state {
        case .paused:
            let resumed = try await resume(personaId)
            guard resumed?.state == .stopped else { return resumed }
            fallthrough
        case .stopped:
            guard let persona = try await database.withConnection({ try await self.personas.find(id: personaId, on: $0) }) else {
                return record
            }
            _ = try await start(persona, wait: timeout, trace: trace)
            return try await find(personaId)
        case .starting, .ready, .unhealthy, .failed:
            return record
        }
    }

    /// Unpauses a container the idle sweep paused. Callers that arrive together unpause it
    /// once: the first takes the persona's lock and unpauses, the others then find it ready.
    /// - Returns: the record afterwards: `ready`, or `stopped` when the container was gone.
    package func resume(_ personaId: String) async throws -> PersonaContainerRecord? {
        try await locks.withLock(personaId) {
            guard let record = try await self.find(personaId) else { return nil }
            guard record.state == .paused else { return record }
            try await self.resumeLocked(record)
            return try await self.find(personaId)
        }
    }

    /// Unpauses `record`'s container and marks it ready; the caller holds the persona's lock.
    /// A container that is not paused (woken by another control plane, or by hand) is fine:
    /// engines answer 409 or, Debian's 20.10, 500 "is not paused", so the container's state
    /// decides. A container that is gone is marked stopped, so the caller's start recreates it.
    func resumeLocked(_ record: PersonaContainerRecord) async throws {
        let client: Docker.Client
        do {
            client = try await docker.get()
        } catch {
            throw ContainerErrors.map(error, endpoint: settings.dockerEndpoint)
        }
        if let id = record.containerId {
            do {
                activity.countUnpause(record.personaId)
                try await client.unpauseContainer(id)
                logger.info("persona container woken", metadata: ["persona_id": "\(record.personaId)", "container": "\(id.prefix(12))"])
            } catch let error as DockerError where error.code == .noSuchContainer {
                logger.warning("a paused persona container was removed outside the control plane", metadata: ["persona_id": "\(record.personaId)"])
                try await update(record.personaId, ["state": ContainerState.stopped.rawValue, "container_id": nil, "boot_id": nil,
                                                    "paused_at": nil, "stopped_at": Date()])
                return
            } catch {
                guard let inspect = try? await client.inspectContainer(id), inspect.state.running, !inspect.state.paused else {
                    throw ContainerErrors.map(error, endpoint: settings.dockerEndpoint)
                }
            }
        }
        try await database.withConnection { try await self.repository.endPause(personaId: record.personaId, now: Date(), on: $0) }
    }
}
