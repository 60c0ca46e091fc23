import AsyncHTTPClient
import Crypto
import DockerEngine
import Foundation
import Logging
import PersonaKit
import SQLKit
import Synchronization
import PersonaCore
import PersonaStorage

/// Provisions, stops and removes persona containers through the Docker Engine API, and runs
/// tools in them through their supervisors. Desired state lives in `persona_containers`; the
/// ``Reconciler`` repairs drift. Work on one persona is serialized.
public final class ContainerManager: Sendable {
    package static let managedBy = "persona-control-plane"
    package static let tokenSecretName = "container-token"
    package static let supervisorPort = 7070
    package static let controlSocketName = "control.sock"

    package let settings: ContainerSettings
    /// `STORAGE_PATH`: persona workspaces and caches live under `<storagePath>/personas/<id>`.
    package let storagePath: String
    package let database: Database
    package let secretBox: SecretBox
    package let docker: DockerConnection
    package let http: HTTPClient
    package let logger: Logger
    package let repository = ContainerRepository()
    package let tools = ToolRepository()
    package let personas = PersonaRepository()
    package let platformSettings = SettingsRepository()
    package let runtimes = RuntimeRepository()
    package let waiters = ReadinessWaiters()
    package let locks = KeyedLock()
    /// Activity writes and tool calls in flight, for the idle sweep.
    package let activity = ActivityTracker()
    private let cachedInstanceId = Mutex<String?>(nil)

    /// - Parameters:
    ///   - settings: the engine, images, control channel and timings.
    ///   - storagePath: `STORAGE_PATH`, under which persona workspaces and caches live.
    ///   - database: desired state (`persona_containers`), tools and settings.
    ///   - secretBox: seals the per-container token.
    ///   - http: the shared client the supervisor clients use.
    ///   - logger: the application logger.
    package init(settings: ContainerSettings, storagePath: String, database: Database, secretBox: SecretBox, http: HTTPClient,
                 logger: Logger) {
        self.settings = settings
        self.storagePath = storagePath
        self.database = database
        self.secretBox = secretBox
        self.http = http
        self.logger = logger
        self.docker = DockerConnection(endpoint: settings.dockerEndpoint, logger: logger)
    }

    // MARK: Names and paths

    /// This installation's id (labels `io.persona.instance`).
    package func instanceId() async throws -> String {
        if let id = cachedInstanceId.withLock({ $0 }) { return id }
        let id = try await database.withConnection { try await self.repository.instanceId(on: $0) }
        cachedInstanceId.withLock { $0 = id }
        return id
    }

    package static func tokenHash(_ token: String) -> String {
        SHA256.hash(data: Data(token.utf8)).hexString
    }

    package static func containerName(_ personaId: String) -> String { "persona-\(personaId)" }

    package func runDirectory(_ personaId: String) -> String { "\(settings.runDirectory)/\(personaId)" }
    package func personaStorage(_ personaId: String) -> String {
        URL(fileURLWithPath: storagePath).standardizedFileURL.path + "/personas/\(personaId)"
    }
    package var controlSocketPath: String { "\(settings.controlSocketDirectory)/\(Self.controlSocketName)" }

    package func loadSettings() async throws -> PlatformSettings {
        try await platformSettings.load(in: database)
    }

    // MARK: Start, stop, remove

    /// Starts the persona's container (idempotent: a running one is left alone, one the idle
    /// sweep paused is unpaused) and, when `wait` is given, waits up to that long for its
    /// supervisor to register.
    package func start(_ persona: Persona, wait: Duration?, trace: TraceContext) async throws -> ContainerStatusDTO {
        do {
            try await locks.withLock(persona.id) {
                let client = try await self.docker.get()
                let record = try await self.find(persona.id)
                if let record, record.desiredState == .running, record.state != .failed, let id = record.containerId,
                   let inspect = try? await client.inspectContainer(id), inspect.state.running {
                    guard record.state == .paused else { return }
                    // An explicit start is activity too, or the next sweep would pause it again.
                    await self.noteActivity(persona.id)
                    try await self.resumeLocked(record)
                    if try await self.find(persona.id)?.state != .stopped { return }
                }
                try await self.provision(personaId: persona.id, ownerId: persona.ownerId, client: client, previous: record,
                                         resetRestarts: true)
            }
        } catch {
            throw ContainerErrors.map(error, endpoint: settings.dockerEndpoint, image: settings.personaImage)
        }
        if let wait { _ = await waitUntilReady(persona.id, timeout: wait) }
        return try await status(persona.id, trace: trace)
    }

    /// Creates and starts a fresh container with a fresh token, replacing any earlier one.
    /// Runs under the persona's lock.
    package func provision(personaId: String, ownerId: String, client: Docker.Client, previous: PersonaContainerRecord?,
                   resetRestarts: Bool) async throws {
        let settings = try await loadSettings()
        let runtime = try await database.withConnection { try await self.runtimes.find(personaId: personaId, on: $0) }
        let image = self.image(for: runtime)
        let instance = try await instanceId()
        let name = Self.containerName(personaId)
        try await removeContainers(personaId: personaId, knownId: previous?.containerId, client: client)
        let token = TraceContext.randomHex(bytes: 32)
        try prepareDirectories(personaId: personaId, token: token)
        let sealed = try secretBox.seal(token, personaId: personaId, name: Self.tokenSecretName)
        try await database.withConnection { db in
            try await self.repository.beginStart(personaId: personaId, containerName: name, image: image,
                                                 tokenHash: Self.tokenHash(token), tokenSealed: sealed,
                                                 heartbeatSeconds: self.settings.supervisorHeartbeatSeconds,
                                                 resetRestarts: resetRestarts, now: Date(), on: db)
        }
        do {
            let spec = containerSpec(personaId: personaId, ownerId: ownerId, settings: settings, instance: instance, runtime: runtime)
            let created = try await client.createContainer(spec, name: name)
            try await update(personaId, ["container_id": created.id])
            _ = try await client.startContainer(created.id)
            logger.info("persona container started", metadata: ["persona_id": "\(personaId)", "container": "\(created.id.prefix(12))"])
        } catch {
            let mapped = ContainerErrors.map(error, endpoint: self.settings.dockerEndpoint, image: image)
            try? await update(personaId, ["state": ContainerState.failed.rawValue,
                                          "last_error": (mapped as? APIError)?.message ?? "\(error)"])
            logger.error("persona container failed to start", metadata: ["persona_id": "\(personaId)", "error": "\(error)"])
            throw mapped
        }
    }

    /// Removes every container of this installation labelled with the persona (and the
    /// recorded one), so a start never leaves two behind.
    package func removeContainers(personaId: String, knownId: String?, client: Docker.Client) async throws {
        let instance = try await instanceId()
        var ids = Set(try await client.listContainers(all: true, filters: Docker.Filters.label("io.persona.instance", instance)
            .label("io.persona.persona-id", personaId)).map(\.id))
        if let knownId { ids.insert(knownId) }
        for id in ids {
            do {
                try await client.removeContainer(id, force: true)
            } catch let error as DockerError where error.code == .noSuchContainer {
                continue
            } catch let error as DockerError where error.code == .conflict {
                continue  // removal already in progress
            }
        }
        // The name can also be held by a container of another installation's leftovers.
        if let stray = try? await client.inspectContainer(Self.containerName(personaId)),
           stray.config.labels?["io.persona.persona-id"] == personaId {
            try? await client.removeContainer(stray.id, force: true)
        }
    }

    /// Stops the persona's container and removes it; workspace and cache stay.
    package func stop(_ persona: Persona, trace: TraceContext) async throws -> ContainerStatusDTO {
        try await locks.withLock(persona.id) {
            guard let record = try await self.find(persona.id) else { return }
            // Desired state first: the `die` event that follows is not a crash, and if the engine
            // is down the reconciler finishes the stop when it is back.
            try await self.update(persona.id, ["desired_state": DesiredState.stopped.rawValue])
            let client = try await self.docker.get()
            if let id = record.containerId {
                // A frozen supervisor cannot take SIGTERM: thawed first, it shuts down cleanly
                // instead of being killed after the timeout.
                if record.state == .paused { try? await client.unpauseContainer(id) }
                do {
                    _ = try await client.stopContainer(id, timeout: .seconds(self.settings.containerStopTimeoutSeconds))
                } catch let error as DockerError where error.code == .noSuchContainer {
                } catch {
                    throw ContainerErrors.map(error, endpoint: self.settings.dockerEndpoint)
                }
            }
            do {
                try await self.removeContainers(personaId: persona.id, knownId: record.containerId, client: client)
            } catch {
                throw ContainerErrors.map(error, endpoint: self.settings.dockerEndpoint)
            }
            try await self.update(persona.id, ["state": ContainerState.stopped.rawValue, "container_id": nil,
                                               "stopped_at": Date(), "restart_after": nil, "boot_id": nil, "paused_at": nil])
        }
        return try await status(persona.id, trace: trace)
    }

    /// After a persona was deleted: its container and directories go. An unreachable engine
    /// leaves the container to the reconciler (a managed container without persona is removed).
    package func removeAll(personaId: String) async {
        try? await locks.withLock(personaId) {
            do {
                let client = try await self.docker.get()
                try await self.removeContainers(personaId: personaId, knownId: nil, client: client)
            } catch {
                self.logger.warning("could not remove a deleted persona's container now; the reconciler will",
                                    metadata: ["persona_id": "\(personaId)", "error": "\(error)"])
            }
            try? FileManager.default.removeItem(atPath: self.personaStorage(personaId))
            try? FileManager.default.removeItem(atPath: self.runDirectory(personaId))
        }
    }

    package func shutdown() async {
        await docker.shutdown()
    }

    /// Removes every container this installation manages (tests, uninstall), checking until
    /// none is left (a removal racing the reconciler's can answer 409 while still in
    /// progress). Failures are ignored: this is clean-up.
    public func removeManagedContainers() async {
        guard let instance = try? await instanceId(), let client = try? await Docker.Client.connect(to: settings.dockerEndpoint)
        else { return }
        for _ in 0..<20 {
            guard let containers = try? await client.listContainers(all: true, filters: Docker.Filters.label("io.persona.instance", instance)),
                  !containers.isEmpty else { break }
            for container in containers { try? await client.removeContainer(container.id, force: true) }
            try? await Task.sleep(for: .milliseconds(100))
        }
        try? await client.shutdown()
    }
}

/// The control plane's version, on container labels and in `/healthz`.
package enum ControlPlaneVersion {
    package static let current = "0.3.0"
}
