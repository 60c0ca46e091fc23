import Console
import AsyncHTTPClient
import Foundation
import HummingbirdBcrypt
import Logging
import PersonaCore
import PersonaStorage
import Prometheus
import Memory
import Tools
import Containers

/// The long-lived parts ``buildApplication(configuration:searchPath:logger:)`` makes once and
/// hands, each to the controllers and services that use it. The executable and tests reach
/// them here; no controller or service takes this whole set.
public struct AppComponents: Sendable {
    public let configuration: AppConfiguration
    public let database: Database
    /// The PostgreSQL schema the application runs in, when not the default (tests).
    public let searchPath: String?
    public let metrics: PrometheusCollectorRegistry
    /// The shared HTTP client (LLM gateway, supervisors), shut down last.
    public let http: HTTPClient
    /// Persona containers: provisioning, status, tools.
    public let containers: ContainerManager
    /// Document memory: uploads, chunks, retrieval.
    public let memory: MemoryService
    /// The installation-wide tool catalog.
    package let tools: ToolRegistry
    /// Semantic search over it.
    package let toolSearch: ToolSearch
    /// Wakes the run worker when a run is queued in this process.
    public let runWakeUp = Wakeup()
    /// Wakes the email trigger service when a connector is created, changed or deleted here.
    public let connectorsChanged = Wakeup()
    /// Opened after migrations and the admin bootstrap; background services wait on it.
    public let startup: Gate
    /// Samples the running persona containers (`HEALTH_INTERVAL_SECONDS`).
    package let health: HealthMonitor
    /// Follows the event tables for this process's WebSocket streams.
    package let hub: EventHub
    let tokens: TokenService
    let passwords: PasswordHasher
    let secretBox: SecretBox
    let sessions: SessionCache
    let requestLimiter: RateLimiter
    /// Login, refresh, logout and the per-request session check.
    let auth: AuthService
    /// The web console's pages and files; nil when its folder cannot be found (the API still
    /// serves).
    public let console: ConsoleSite?

    init(configuration: AppConfiguration, database: Database, searchPath: String?, logger: Logger) async {
        self.configuration = configuration
        self.database = database
        self.searchPath = searchPath
        self.http = HTTPClient(eventLoopGroupProvider: .singleton)
        self.metrics = PrometheusCollectorRegistry()
        self.tokens = await TokenService(configuration: configuration)
        self.passwords = PasswordHasher(cost: configuration.bcryptCost)
        self.secretBox = SecretBox(key: configuration.encryptionKey)
        self.containers = ContainerManager(settings: configuration.containers, storagePath: configuration.storagePath,
                                           database: database, secretBox: secretBox, http: http, logger: logger)
        let startup = Gate()
        self.startup = startup
        self.health = HealthMonitor(manager: containers, startup: startup, logger: logger)
        self.hub = EventHub(database: database, startup: startup, settings: configuration.events, metrics: metrics, logger: logger)
        self.memory = MemoryService(configuration: configuration, database: database,
                                    embedder: MemoryEmbedder(configuration: configuration, http: http))
        self.tools = ToolRegistry(database: database, logger: logger)
        self.toolSearch = ToolSearch(registry: tools, embedder: memory.embedder,
                                     embedOnDemand: configuration.tools.searchIndexInterval == nil, logger: logger)
        self.sessions = SessionCache(ttl: configuration.sessionCacheTTL)
        self.requestLimiter = RateLimiter(limit: configuration.rateLimit.maxRequests,
                                          windowSeconds: configuration.rateLimit.windowSeconds)
        self.auth = AuthService(
            database: database, tokens: tokens, passwords: passwords, sessions: sessions,
            loginAccountLimiter: RateLimiter(limit: configuration.loginLimit.maxPerAccount,
                                             windowSeconds: configuration.loginLimit.windowSeconds),
            loginAddressLimiter: RateLimiter(limit: configuration.loginLimit.maxPerAddress,
                                             windowSeconds: configuration.loginLimit.windowSeconds),
            // A bcrypt hash (at the configured cost) of a random password, verified against when
            // the email is unknown so a wrong email costs the same time as a wrong password.
            decoyPasswordHash: Bcrypt.hash(DevelopmentSecrets.randomHex(bytes: 16), cost: configuration.bcryptCost))
        if let directory = ConsoleSite.locate(configured: configuration.consoleDirectory,
                                              executablePath: CommandLine.arguments.first) {
            do {
                self.console = try await ConsoleSite(directory: directory, fontsDirectory: configuration.consoleFontsDirectory,
                                                     noVNCDirectory: configuration.consoleNoVNCDirectory ?? "/usr/share/novnc")
            } catch {
                logger.error("The web console could not be loaded from \(directory): \(error)")
                self.console = nil
            }
        } else {
            logger.warning("The web console's files were not found (set CONSOLE_DIR): only the API is served")
            self.console = nil
        }
    }

    /// Opens a sealed persona secret. For the server's own use (tools, tests); never for a response.
    public func openSecret(_ sealed: String, personaId: String, name: String) throws -> String {
        try secretBox.open(sealed, personaId: personaId, name: name)
    }
}
