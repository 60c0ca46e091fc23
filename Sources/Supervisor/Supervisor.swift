#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Logging
import PersonaKit
#if canImport(Glibc)
import Glibc
#endif

/// PID 1 of a persona container, as a library (`persona-supervisor serve` is a thin wrapper,
/// tests run it in process). ``run()`` starts the reaper, opens the journal/outbox, loads the
/// tools, listens on the run directory's socket (and TCP when configured), reports to the
/// control plane, and returns after a clean shutdown: on `SIGTERM`/`SIGINT` (or
/// ``requestShutdown()``) it stops accepting, forwards `SIGTERM` to every tool's process
/// group, waits ``SupervisorConfiguration/shutdownGrace``, kills what is left and returns.
public final class Supervisor: Sendable {
    public let configuration: SupervisorConfiguration
    public let reaper: Reaper
    public let bootId: String
    let logger: Logger
    let startedAt = Date()
    let startedMonotonic = monotonicNanos()
    private let shutdownSignal: AsyncStream<Int32>
    private let shutdownContinuation: AsyncStream<Int32>.Continuation

    /// - Parameters:
    ///   - reaperMode: `.allChildren` for PID 1 (signals must already be blocked), `.ownGroups`
    ///     when embedded in a process with other children.
    public init(configuration: SupervisorConfiguration, reaperMode: Reaper.Mode, logger: Logger) {
        self.configuration = configuration
        self.reaper = Reaper(mode: reaperMode)
        self.bootId = Identifier.make()
        self.logger = logger
        (shutdownSignal, shutdownContinuation) = AsyncStream.makeStream(bufferingPolicy: .bufferingNewest(1))
    }

    /// Starts a clean shutdown (what `SIGTERM` does).
    public func requestShutdown(signal: Int32 = SIGTERM) {
        shutdownContinuation.yield(signal)
    }

    /// Runs until shutdown. Throws when start-up fails (missing token, unusable database,
    /// socket cannot be bound); never after it is serving.
    public func run(onReady: @Sendable (_ tcpPort: Int?) -> Void = { _ in }) async throws {
        let token = try ContainerToken.read(configuration.tokenPath)
        try ensureDirectory(configuration.cacheDirectory)
        let db = try SupervisorStore.open(path: configuration.databasePath)
        defer { db.close() }
        let journal = InvocationJournal(db: db)
        let interrupted = try journal.markInterrupted()
        if interrupted > 0 { logger.warning("invocations interrupted by the previous stop", metadata: ["count": "\(interrupted)"]) }
        let outbox = Outbox(db: db)
        let memoryCache = openMemoryCache()
        defer { memoryCache?.close() }
        let reporter = ControlPlaneReporter(endpoint: configuration.controlPlane, token: token, outbox: outbox, logger: logger)
        let secrets = SecretStore()
        secrets.setSource { [reporter] in await reporter.fetchSecrets() }
        let sidecars = try makeSidecars(secrets: secrets)
        let available = sidecars.available
        let loadCatalog: @Sendable () -> ToolCatalog = { [configuration, logger] in
            ToolCatalog.load(from: configuration.toolsDirectory, customDirectory: configuration.customToolsDirectory,
                             available: available, logger: logger)
        }
        let catalog = loadCatalog()
        let memory = memoryCache.map {
            MemoryService(cache: $0, channel: ControlPlaneChannel(endpoint: configuration.controlPlane, token: token), logger: logger,
                          searchSyncTimeout: configuration.memorySearchTimeout, searchEmbedTimeout: configuration.memorySearchTimeout)
        }
        let workspace = Workspace(root: configuration.workspace, owner: configuration.toolUser)
        let context = ToolContext(personaId: configuration.personaId, bootId: bootId, workspace: workspace,
                                  processes: ProcessRunner(reaper: reaper), toolUser: configuration.toolUser, secrets: secrets,
                                  memory: memory, sidecars: sidecars.manager,
                                  browserSocket: configuration.browserSocket, display: configuration.display)
        let runner = ToolRunner(catalog: catalog, journal: journal, context: context, logger: logger,
                                loadCatalog: loadCatalog) { reporter.record($0) }

        reaper.start { [self] signal in
            logger.info("signal received", metadata: ["signal": "\(signal)"])
            if [SIGTERM, SIGINT, SIGQUIT, SIGHUP].contains(signal) { requestShutdown(signal: signal) }
        }
        defer { reaper.stop() }

        reporter.enqueue(SupervisorRoutes.register, RegisterRequest(
            personaId: configuration.personaId, bootId: bootId, version: SupervisorVersion.current,
            startedAt: startedAt, tools: catalog.manifests))

        let manager = sidecars.manager
        // A sidecar in trouble does not make the supervisor unhealthy (it restarts sidecars
        // itself, and tools that do not need them keep working): each reports its own state.
        let health: @Sendable () async -> SupervisorHealth = { SupervisorHealth(status: "ok", sidecars: await manager.health()) }
        let info: @Sendable () async -> SupervisorInfo = { [self] in
            SupervisorInfo(
                version: SupervisorVersion.current, personaId: configuration.personaId, bootId: bootId,
                uptimeSeconds: Int((monotonicNanos() - startedMonotonic) / 1_000_000_000), rssBytes: currentRSSBytes(),
                toolCount: await runner.catalog.entries.count, runningInvocations: await runner.runningCount,
                outboxDepth: (try? outbox.depth()) ?? -1, registered: reporter.isRegistered,
                recentInvocations: (try? journal.recent(limit: 10)) ?? [])
        }
        let api = SupervisorAPI(token: token, runner: runner, workspace: workspace, logger: logger, info: info, health: health,
                                memory: memory, sidecars: manager)
        let http = SupervisorHTTPServer(logger: logger) { await api.handle($0) }
        var listeners = [try await http.bindUnixSocket(configuration.socketPath)]
        if let tcp = configuration.tcpListener {
            listeners.append(try await http.bindTCP(host: tcp.host, port: tcp.port))
        }
        logger.info("supervisor ready", metadata: [
            "version": "\(SupervisorVersion.current)", "personaId": "\(configuration.personaId)", "bootId": "\(bootId)",
            "listeners": "\(listeners.map(\.description).joined(separator: ","))", "tools": "\(catalog.entries.count)",
            "controlPlane": "\(configuration.controlPlane)", "pid": "\(getpid())",
        ])
        onReady(listeners.count > 1 ? listeners[1].port : nil)

        let heartbeat: @Sendable () async -> Heartbeat = { [self] in
            let current = await info()
            let sidecarHealth = await health()
            return Heartbeat(personaId: configuration.personaId, bootId: bootId, sentAt: Date(), status: sidecarHealth.status,
                             uptimeSeconds: current.uptimeSeconds, rssBytes: current.rssBytes,
                             runningInvocations: current.runningInvocations, outboxDepth: current.outboxDepth,
                             sidecars: sidecarHealth.sidecars)
        }
        await withTaskGroup(of: Void.self) { group in
            for listener in listeners { group.addTask { await http.serve(listener) } }
            group.addTask { await reporter.runDelivery() }
            group.addTask { await reporter.runHeartbeats(interval: self.configuration.heartbeatInterval, make: heartbeat) }
            group.addTask { await reporter.loadSecrets(into: secrets) }
            group.addTask { await manager.run() }
            if let memory, configuration.memorySyncInterval > .zero {
                group.addTask { await memory.run(every: self.configuration.memorySyncInterval) }
            }

            var iterator = shutdownSignal.makeAsyncIterator()
            let signal = await iterator.next() ?? SIGTERM
            logger.info("shutting down", metadata: ["signal": "\(signal)"])
            for listener in listeners { listener.close() }
            await runner.beginShutdown()
            reaper.signalAllGroups(SIGTERM)
            let deadline = monotonicNanos() + configuration.shutdownGrace.nanoseconds
            while await runner.runningCount > 0 && monotonicNanos() < deadline {
                try? await Task.sleep(for: .milliseconds(20))
            }
            await manager.shutdown(grace: .seconds(2))
            reaper.signalAllGroups(SIGKILL)
            await runner.cancelAll()
            while await runner.runningCount > 0 {
                try? await Task.sleep(for: .milliseconds(10))
            }
            group.cancelAll()
        }
        if configuration.socketPath.isEmpty == false { unlink(configuration.socketPath) }
        logger.info("supervisor stopped")
    }

    /// The sidecars this image has, their runtime directory (`0711`, root's) and log
    /// directory (`0700`), and the tool needs they meet.
    private func makeSidecars(secrets: SecretStore) throws(SupervisorError) -> (manager: SidecarManager, available: Set<ToolManifest.Need>) {
        let specs = PlatformSidecars.specs(configuration: configuration, secrets: secrets)
        let logs = configuration.sidecarDirectory + "/logs"
        if !specs.isEmpty {
            try PlatformSidecars.makeDirectory(configuration.sidecarDirectory, mode: 0o711)
            try PlatformSidecars.makeDirectory(logs, mode: 0o700)
        }
        let available = PlatformSidecars.availableNeeds(specs)
        let eager = PlatformSidecars.sidecars(for: configuration.eagerNeeds.filter { available.contains($0) })
        let manager = SidecarManager(specs: specs, processes: ProcessRunner(reaper: reaper), logDirectory: logs,
                                     idleTimeout: configuration.sidecarIdleTimeout, eager: eager, logger: logger)
        logger.info("sidecars", metadata: ["declared": "\(specs.map(\.name).joined(separator: ","))", "eager": "\(eager.joined(separator: ","))"])
        return (manager, available)
    }

    /// The memory cache; an unusable file is deleted and re-created (it is only a copy), and
    /// when even that fails the supervisor runs without it rather than not at all.
    private func openMemoryCache() -> MemoryCache? {
        let path = configuration.memoryDatabasePath
        do {
            return try MemoryCache(path: path)
        } catch {
            logger.error("memory cache unusable; re-creating it", metadata: ["path": "\(path)", "error": "\(String(reflecting: error))"])
        }
        for suffix in ["", "-wal", "-shm"] { unlink(path + suffix) }
        do {
            return try MemoryCache(path: path)
        } catch {
            logger.error("memory cache unavailable; memory_search will fail", metadata: ["error": "\(String(reflecting: error))"])
            return nil
        }
    }

    /// The cache directory: `0711`, so the tool user reaches its own subdirectory (the
    /// browser profile) but cannot list or read the supervisor's files (created `0600`).
    private func ensureDirectory(_ path: String) throws(SupervisorError) {
        if mkdir(path, 0o711) != 0 && errno != EEXIST {
            throw .system("could not create \(path)", errno: errno, code: "storage_error")
        }
        chmod(path, 0o711)
        for file in [configuration.databasePath, configuration.memoryDatabasePath] {
            // SQLite gives -wal and -shm the mode of the database file.
            let fd = open(file, O_WRONLY | O_CREAT | O_CLOEXEC, 0o600)
            if fd >= 0 { close(fd) }
            for suffix in ["", "-wal", "-shm"] { chmod(file + suffix, 0o600) }
        }
    }
}

/// The per-container token: a root-owned `0600` file in the run directory (never in `Env`).
public enum ContainerToken {
    /// Reads and trims the token.
    /// - Throws: `token_missing` when unreadable or empty, `token_insecure` when the file is
    ///   readable by group/others (or, when we are root, not owned by root).
    public static func read(_ path: String) throws(SupervisorError) -> String {
        var info = stat()
        guard stat(path, &info) == 0, let bytes = readWholeFile(path, limit: 4096) else {
            throw SupervisorError("token_missing", "the container token file \(path) is missing or unreadable")
        }
        guard info.st_mode & 0o077 == 0, geteuid() != 0 || info.st_uid == 0 else {
            throw SupervisorError("token_insecure", "the container token file \(path) must be mode 0600 and owned by root")
        }
        let token = String(String(decoding: bytes, as: UTF8.self).filter { !$0.isWhitespace })
        guard !token.isEmpty else { throw SupervisorError("token_missing", "the container token file \(path) is empty") }
        return token
    }
}
