import AsyncHTTPClient
import Crypto
import DockerEngine
import Foundation
import Hummingbird
import Logging
import PersonaKit
import SQLKit
import Synchronization

/// Provisions, stops and removes persona containers through the Docker Engine API, and runs
/// tools in them through their supervisors. Desired state lives in `persona_containers`; the
/// ``Reconciler`` repairs drift. Work on one persona is serialized.
public final class ContainerManager: Sendable {
    static let managedBy = "persona-control-plane"
    static let tokenSecretName = "container-token"
    static let supervisorPort = 7070
    static let controlSocketName = "control.sock"

    let configuration: AppConfiguration
    let database: Database
    let secretBox: SecretBox
    let docker: DockerConnection
    let http: HTTPClient
    let logger: Logger
    let repository = ContainerRepository()
    let tools = ToolRepository()
    let personas = PersonaRepository()
    let settings = SettingsRepository()
    let waiters = ReadinessWaiters()
    let locks = KeyedLock()
    private let cachedInstanceId = Mutex<String?>(nil)

    init(configuration: AppConfiguration, database: Database, secretBox: SecretBox, http: HTTPClient, logger: Logger) {
        self.configuration = configuration
        self.database = database
        self.secretBox = secretBox
        self.http = http
        self.logger = logger
        self.docker = DockerConnection(endpoint: configuration.dockerEndpoint, logger: logger)
    }

    // MARK: Names and paths

    /// This installation's id (labels `io.persona.instance`).
    func instanceId() async throws -> String {
        if let id = cachedInstanceId.withLock({ $0 }) { return id }
        let id = try await database.withConnection { try await self.repository.instanceId(on: $0) }
        cachedInstanceId.withLock { $0 = id }
        return id
    }

    static func tokenHash(_ token: String) -> String {
        SHA256.hash(data: Data(token.utf8)).map { String(format: "%02x", $0) }.joined()
    }

    static func containerName(_ personaId: String) -> String { "persona-\(personaId)" }

    func runDirectory(_ personaId: String) -> String { "\(configuration.runDirectory)/\(personaId)" }
    func personaStorage(_ personaId: String) -> String {
        URL(fileURLWithPath: configuration.storagePath).standardizedFileURL.path + "/personas/\(personaId)"
    }
    var controlSocketPath: String { "\(configuration.controlSocketDirectory)/\(Self.controlSocketName)" }

    func labels(personaId: String, ownerId: String, instance: String) -> [String: String] {
        var labels = configuration.extraContainerLabels
        labels["io.persona.persona-id"] = personaId
        labels["io.persona.owner-id"] = ownerId
        labels["io.persona.managed-by"] = Self.managedBy
        labels["io.persona.instance"] = instance
        labels["io.persona.version"] = ControlPlaneVersion.current
        return labels
    }

    /// The container the platform runs for a persona: limits from the settings, every
    /// capability dropped but what the supervisor needs to switch to the tool user and signal
    /// it, no new privileges, a read-only root, the persona's directories bind-mounted, no
    /// secret and no token in `Env`, and no port at all unless the channel is TCP (then only
    /// on a loopback or private address).
    func containerSpec(personaId: String, ownerId: String, settings: PlatformSettings, instance: String) -> Docker.ContainerSpec {
        let storage = personaStorage(personaId)
        var environment = [
            "PERSONA_ID": personaId,
            "PERSONA_RUN_DIR": "/run/persona",
            "PERSONA_HEARTBEAT_SECONDS": String(configuration.supervisorHeartbeatSeconds),
        ]
        var binds = ["\(storage)/workspace:/workspace", "\(storage)/cache:/cache", "\(runDirectory(personaId)):/run/persona"]
        var exposed: [String] = []
        var ports: [String: [Docker.PortBinding]]?
        switch configuration.controlChannel {
        case .unixSocket:
            environment["PERSONA_CONTROL_PLANE_SOCKET"] = "/run/persona-cp/\(Self.controlSocketName)"
            binds.append("\(configuration.controlSocketDirectory):/run/persona-cp:ro")
        case .tcp(let publishHost, _, _, _, let url):
            environment["PERSONA_CONTROL_PLANE_URL"] = url
            environment["PERSONA_SUPERVISOR_TCP"] = "1"
            exposed = ["\(Self.supervisorPort)/tcp"]
            ports = ["\(Self.supervisorPort)/tcp": [Docker.PortBinding(hostIP: publishHost, hostPort: "")]]
        }
        let memory = Int64(settings.defaultPersonaMemoryMb) << 20
        return Docker.ContainerSpec(
            image: configuration.personaImage,
            environment: environment,
            labels: labels(personaId: personaId, ownerId: ownerId, instance: instance),
            hostname: "persona-\(personaId.prefix(8))",
            exposedPorts: exposed,
            stopTimeout: configuration.containerStopTimeoutSeconds,
            host: Docker.HostConfig(
                binds: binds, portBindings: ports,
                memory: memory, memorySwap: memory,
                nanoCpus: Int64(settings.defaultPersonaCpuMillis) * 1_000_000,
                cpuShares: settings.defaultPersonaCpuShares,
                pidsLimit: Int64(settings.defaultPersonaPidsLimit),
                restartPolicy: Docker.RestartPolicy(name: "no"),
                securityOpt: ["no-new-privileges:true"],
                capAdd: ["SETUID", "SETGID", "KILL"], capDrop: ["ALL"],
                readonlyRootfs: true,
                tmpfs: ["/tmp": "rw,nosuid,nodev,size=256m,mode=1777"]))
    }

    func loadSettings() async throws -> PlatformSettings {
        PlatformSettings(stored: try await database.withConnection { try await self.settings.all(on: $0) })
    }

    // MARK: Start, stop, remove

    /// Starts the persona's container (idempotent: a running one is left alone) and, when
    /// `wait` is given, waits up to that long for its supervisor to register.
    func start(_ persona: Persona, wait: Duration?, trace: TraceContext) async throws -> ContainerStatusDTO {
        do {
            try await locks.withLock(persona.id) {
                let client = try await self.docker.get()
                let record = try await self.find(persona.id)
                if let record, record.desiredState == .running, record.state != .failed, let id = record.containerId,
                   let inspect = try? await client.inspectContainer(id), inspect.state.running {
                    return
                }
                try await self.provision(personaId: persona.id, ownerId: persona.ownerId, client: client, previous: record,
                                         resetRestarts: true)
            }
        } catch {
            throw ContainerErrors.map(error, endpoint: configuration.dockerEndpoint, image: configuration.personaImage)
        }
        if let wait { _ = await waitUntilReady(persona.id, timeout: wait) }
        return try await status(persona.id, trace: trace)
    }

    /// Creates and starts a fresh container with a fresh token, replacing any earlier one.
    /// Runs under the persona's lock.
    func provision(personaId: String, ownerId: String, client: Docker.Client, previous: PersonaContainerRecord?,
                   resetRestarts: Bool) async throws {
        let settings = try await loadSettings()
        let instance = try await instanceId()
        let name = Self.containerName(personaId)
        try await removeContainers(personaId: personaId, knownId: previous?.containerId, client: client)
        let token = TraceContext.randomHex(bytes: 32)
        try prepareDirectories(personaId: personaId, token: token)
        let sealed = try secretBox.seal(token, personaId: personaId, name: Self.tokenSecretName)
        try await database.withConnection { db in
            try await self.repository.beginStart(personaId: personaId, containerName: name, image: self.configuration.personaImage,
                                                 tokenHash: Self.tokenHash(token), tokenSealed: sealed,
                                                 heartbeatSeconds: self.configuration.supervisorHeartbeatSeconds,
                                                 resetRestarts: resetRestarts, now: Date(), on: db)
        }
        do {
            let spec = containerSpec(personaId: personaId, ownerId: ownerId, settings: settings, instance: instance)
            let created = try await client.createContainer(spec, name: name)
            try await update(personaId, ["container_id": created.id])
            _ = try await client.startContainer(created.id)
            logger.info("persona container started", metadata: ["persona_id": "\(personaId)", "container": "\(created.id.prefix(12))"])
        } catch {
            let mapped = ContainerErrors.map(error, endpoint: configuration.dockerEndpoint, image: configuration.personaImage)
            try? await update(personaId, ["state": ContainerState.failed.rawValue,
                                          "last_error": (mapped as? APIError)?.message ?? "\(error)"])
            logger.error("persona container failed to start", metadata: ["persona_id": "\(personaId)", "error": "\(error)"])
            throw mapped
        }
    }

    /// Makes the persona's directories and writes its token: workspace (the tool user's),
    /// cache (root only), and the run directory (root only) with a 0600 root-owned token file.
    func prepareDirectories(personaId: String, token: String) throws {
        guard geteuid() == 0 else {
            throw APIError(.serviceUnavailable, code: "container_setup_failed",
                           "The control plane must run as root to hand a container its root-owned token file")
        }
        let storage = personaStorage(personaId)
        let fm = FileManager.default
        do {
            try fm.createDirectory(atPath: storage + "/workspace", withIntermediateDirectories: true)
            try fm.createDirectory(atPath: storage + "/cache", withIntermediateDirectories: true)
            chown(storage + "/workspace", 1000, 1000)
            chmod(storage + "/workspace", 0o755)
            chmod(storage + "/cache", 0o700)
            let run = runDirectory(personaId)
            try fm.createDirectory(atPath: run, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o755])
            chown(run, 0, 0)
            chmod(run, 0o700)
            // Written beside, then renamed: a supervisor never reads half a token.
            let temporary = run + "/.token.new"
            unlink(temporary)
            guard fm.createFile(atPath: temporary, contents: Data(token.utf8), attributes: [.posixPermissions: 0o600]) else {
                throw CocoaError(.fileWriteUnknown)
            }
            chown(temporary, 0, 0)
            guard rename(temporary, run + "/token") == 0 else { throw CocoaError(.fileWriteUnknown) }
        } catch {
            throw APIError(.internalServerError, code: "container_setup_failed",
                           "Could not prepare the persona's directories under \(configuration.storagePath) and \(configuration.runDirectory)")
        }
    }

    /// Removes every container of this installation labelled with the persona (and the
    /// recorded one), so a start never leaves two behind.
    func removeContainers(personaId: String, knownId: String?, client: Docker.Client) async throws {
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
    func stop(_ persona: Persona, trace: TraceContext) async throws -> ContainerStatusDTO {
        try await locks.withLock(persona.id) {
            guard let record = try await self.find(persona.id) else { return }
            // Desired state first: the `die` event that follows is not a crash, and if the engine
            // is down the reconciler finishes the stop when it is back.
            try await self.update(persona.id, ["desired_state": DesiredState.stopped.rawValue])
            let client = try await self.docker.get()
            if let id = record.containerId {
                do {
                    _ = try await client.stopContainer(id, timeout: .seconds(self.configuration.containerStopTimeoutSeconds))
                } catch let error as DockerError where error.code == .noSuchContainer {
                } catch {
                    throw ContainerErrors.map(error, endpoint: self.configuration.dockerEndpoint)
                }
            }
            do {
                try await self.removeContainers(personaId: persona.id, knownId: record.containerId, client: client)
            } catch {
                throw ContainerErrors.map(error, endpoint: self.configuration.dockerEndpoint)
            }
            try await self.update(persona.id, ["state": ContainerState.stopped.rawValue, "container_id": nil,
                                               "stopped_at": Date(), "restart_after": nil, "boot_id": nil])
        }
        return try await status(persona.id, trace: trace)
    }

    /// After a persona was deleted: its container and directories go. An unreachable engine
    /// leaves the container to the reconciler (a managed container without persona is removed).
    func removeAll(personaId: String) async {
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

    // MARK: Status

    func find(_ personaId: String) async throws -> PersonaContainerRecord? {
        try await database.withConnection { try await self.repository.find(personaId: personaId, on: $0) }
    }

    func update(_ personaId: String, _ values: [String: (any Encodable & Sendable)?]) async throws {
        try await database.withConnection { try await self.repository.update(personaId: personaId, values, now: Date(), on: $0) }
    }

    /// Live status: the record, checked against the engine (state, health, ports and, with
    /// `resources`, usage: the engine's stats can take up to its 1 s collection interval for a
    /// new container, so start and stop answer without them).
    func status(_ personaId: String, trace: TraceContext, resources withResources: Bool = false) async throws -> ContainerStatusDTO {
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
                throw ContainerErrors.map(error, endpoint: configuration.dockerEndpoint)
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

    static func state(of record: PersonaContainerRecord, inspect: Docker.ContainerInspect?, now: Date) -> ContainerState {
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

    static func describe(_ record: PersonaContainerRecord, inspect: Docker.ContainerInspect?,
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
    func waitUntilReady(_ personaId: String, timeout: Duration) async -> Bool {
        await waiters.wait(personaId, timeout: timeout) {
            guard let record = try? await self.find(personaId) else { return false }
            return record.state == .ready || record.state == .failed
        }
    }

    // MARK: Tools

    /// The supervisor of a running persona, or `nil`.
    func supervisor(for record: PersonaContainerRecord) async throws -> SupervisorClient {
        let token = try secretBox.open(record.tokenSealed, personaId: record.personaId, name: Self.tokenSecretName)
        switch configuration.controlChannel {
        case .unixSocket:
            return SupervisorClient(http: http, address: .unixSocket(runDirectory(record.personaId) + "/supervisor.sock"), token: token)
        case .tcp(_, let host, _, _, _):
            guard let id = record.containerId else { throw Self.notReady(record.personaId) }
            let inspect = try await docker.get().inspectContainer(id)
            guard let port = inspect.networkSettings?.ports?["\(Self.supervisorPort)/tcp"]??.first?.hostPort.flatMap(Int.init) else {
                throw Self.notReady(record.personaId)
            }
            return SupervisorClient(http: http, address: .tcp(host: host, port: port), token: token)
        }
    }

    static func notReady(_ personaId: String) -> APIError {
        APIError(.conflict, code: "container_not_ready",
                 "The persona's container is not ready: POST /api/personas/\(personaId)/container/start and try again")
    }

    /// The record of a ready container, starting it on demand (and waiting up to `timeout`).
    func ensureReady(_ persona: Persona, timeout: Duration, trace: TraceContext) async throws -> PersonaContainerRecord {
        if let record = try await find(persona.id), record.desiredState == .running, record.state == .ready, record.containerId != nil {
            return record
        }
        _ = try await start(persona, wait: timeout, trace: trace)
        guard let record = try await find(persona.id), record.state == .ready else {
            let current = try await find(persona.id)
            if current?.state == .failed {
                throw APIError(.conflict, code: "container_failed",
                               "The persona's container failed to start: \(current?.lastError ?? "see docker logs")")
            }
            throw Self.notReady(persona.id)
        }
        return record
    }

    struct Invocation: Sendable {
        var tool: String
        var arguments: JSONValue
        var timeoutMs: Int?
        var idempotencyKey: String?
        var runId: String?
        var userId: String?
    }

    /// Runs a tool of the persona through its supervisor and records the tool run. The same
    /// idempotency key returns the recorded run instead of running the tool again.
    func invoke(_ persona: Persona, _ invocation: Invocation, trace: TraceContext) async throws -> ToolRun {
        let key = invocation.idempotencyKey ?? Identifier.make()
        if let existing = try await database.withConnection({ try await self.tools.run(personaId: persona.id, idempotencyKey: key, on: $0) }) {
            guard existing.tool == invocation.tool, existing.input == invocation.arguments else {
                throw APIError(.conflict, code: "idempotency_conflict", "This idempotencyKey was used for another tool call")
            }
            if existing.status != "running", existing.errorCode != "supervisor_unavailable" { return existing }
        }
        let record = try await ensureReady(persona, timeout: .seconds(60), trace: trace)
        guard let tool = try await database.withConnection({ try await self.tools.toolId(personaId: persona.id, name: invocation.tool, on: $0) }) else {
            throw APIError(.notFound, code: "unknown_tool", "The persona has no tool named '\(invocation.tool)'")
        }
        guard tool.enabled else {
            throw APIError(.conflict, code: "tool_disabled", "The tool '\(invocation.tool)' is turned off for this persona")
        }
        let run = try await database.withConnection { db in
            try await self.tools.beginRun(id: Identifier.make(), personaId: persona.id, tool: invocation.tool, toolId: tool.id,
                                          runId: invocation.runId, userId: invocation.userId, idempotencyKey: key,
                                          input: invocation.arguments, traceId: trace.traceId, now: Date(), on: db)
        }
        let result: InvocationResult
        do {
            let supervisor = try await supervisor(for: record)
            let request = InvocationRequest(arguments: invocation.arguments, idempotencyKey: key, timeoutMs: invocation.timeoutMs)
            // A cancelled caller (a cancelled run) cancels the tool too: its process group is
            // killed; the supervisor's `finished` event records the outcome on the tool run.
            let logger = self.logger
            result = try await withTaskCancellationHandler {
                try await supervisor.invoke(invocation.tool, request, trace: trace)
            } onCancel: {
                Task {
                    do {
                        try await supervisor.cancel(idempotencyKey: key, trace: trace)
                    } catch {
                        logger.warning("could not cancel a tool invocation", metadata: ["idempotency_key": "\(key)", "error": "\(error)"])
                    }
                }
            }
        } catch let error as APIError {
            try? await database.withConnection { db in
                try await self.tools.failRun(id: run.id, code: error.code, message: error.message, now: Date(), on: db)
            }
            throw error
        }
        return try await database.withConnection { db in
            try await self.tools.finishRun(personaId: persona.id, idempotencyKey: key, result: result, now: Date(), on: db)
            guard let finished = try await self.tools.find(id: run.id, on: db) else { throw APIError.notFound("Tool run") }
            return finished
        }
    }

    func shutdown() async {
        await docker.shutdown()
    }

    /// Removes every container this installation manages (tests, uninstall), checking until
    /// none is left (a removal racing the reconciler's can answer 409 while still in
    /// progress). Failures are ignored: this is clean-up.
    public func removeManagedContainers() async {
        guard let instance = try? await instanceId(), let client = try? await Docker.Client.connect(to: configuration.dockerEndpoint)
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
enum ControlPlaneVersion {
    static let current = "0.3.0"
}
