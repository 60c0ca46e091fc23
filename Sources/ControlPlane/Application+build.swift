import AsyncHTTPClient
import Foundation
import Hummingbird
import HummingbirdBcrypt
import HummingbirdCore
import HummingbirdWebSocket
import LLM
import Logging
import PersonaCore
import PersonaKit
import PersonaStorage
import Prometheus
import ServiceLifecycle
import Runs
import Tools
import Memory
import Containers
import Connectors
import Console

/// The control plane's HTTP application type.
public typealias ControlPlaneApplication = Application<RouterResponder<AppRequestContext>>

/// Builds the control plane: opens the database, makes each component with what it uses,
/// runs migrations and the first-start admin bootstrap before the server accepts requests, and
/// wires every route. Tests call this too.
/// - Parameters:
///   - configuration: the loaded configuration.
///   - searchPath: PostgreSQL schema to isolate in (tests).
///   - logger: the application logger.
/// - Returns: the application and its components (for the executable and tests).
/// - Throws: ``ConfigurationError`` or a storage error when the database cannot be opened.
public func buildApplication(configuration: AppConfiguration, searchPath: String? = nil,
                             logger: Logger) async throws -> (ControlPlaneApplication, AppComponents) {
    let database = try Database.open(configuration: configuration, searchPath: searchPath, logger: logger)
    let components = await AppComponents(configuration: configuration, database: database, searchPath: searchPath, logger: logger)
    let router = buildRouter(components)
    var llmConfiguration = LLMClient.Configuration(baseURL: configuration.litellmProxyURL, apiKey: configuration.litellmAPIKey)
    llmConfiguration.timeout = .seconds(Int64(configuration.llmTimeoutSeconds))
    let llm = LLMClient(configuration: llmConfiguration, http: components.http, logger: logger)
    let startup = components.startup
    let worker = RunWorker(database: database, containers: components.containers, metrics: components.metrics, startup: startup,
                           llm: llm, tools: SupervisorToolInvoker(database: database, containers: components.containers),
                           toolSearch: components.toolSearch,
                           configuration: configuration.runWorker, wakeUp: components.runWakeUp, logger: logger)
    let internalAPI = InternalAPIController(configuration: configuration, database: database, containers: components.containers,
                                            memory: components.memory, tools: components.tools, secretBox: components.secretBox,
                                            startup: startup)
    // `/api/ws` and the desktop's `/api/personas/{id}/desktop/vnc` upgrade on the main port
    // (and on WEBSOCKET_PORT when set); every other request goes to the router.
    let webSocketRouter = Router(context: BasicWebSocketRequestContext.self)
    EventSocketController(database: database, auth: components.auth, hub: components.hub, settings: configuration.events)
        .addRoutes(to: webSocketRouter)
    DesktopSocketController(database: database, auth: components.auth, containers: components.containers)
        .addRoutes(to: webSocketRouter)
    let server = HTTPServerBuilder.http1WebSocketUpgrade(webSocketRouter: webSocketRouter, configuration: .init(
        ws: .init(maxFrameSize: 1 << 16, autoPing: .enabled(timePeriod: .seconds(30)), closeTimeout: .seconds(5))))
    var app = Application(
        router: router,
        server: server,
        configuration: .init(address: .hostname(configuration.host, port: configuration.port),
                             serverName: "persona-control-plane"),
        services: [database.service, HTTPClientService(client: components.http, containers: components.containers), worker,
                   components.hub, AlertWebhook(database: database, http: components.http, settings: configuration.webhook,
                                                startup: startup, logger: logger),
                   InternalAPIServer(controller: internalAPI, logger: logger),
                   Reconciler(database: database, containers: components.containers, startup: startup, logger: logger),
                   RetentionService(database: database, startup: startup, logger: logger),
                   MemoryIngestionWorker(database: database, memory: components.memory, startup: startup, logger: logger),
                   MemoryCurator(database: database, memory: components.memory, startup: startup, llm: llm, logger: logger),
                   EmailTriggerService(database: database, secretBox: components.secretBox, settings: configuration.connectors.trigger,
                                       startup: startup, changed: components.connectorsChanged, runWakeUp: components.runWakeUp,
                                       logger: logger)],
        logger: logger)
    if let port = configuration.websocketPort {
        app.addServices(Application(router: Router(context: BasicWebSocketRequestContext.self), server: server,
                                    configuration: .init(address: .hostname(configuration.host, port: port),
                                                         serverName: "persona-control-plane"),
                                    logger: logger))
    }
    if components.health.interval != nil {
        app.addServices(components.health)
    }
    if let interval = configuration.tools.imageCatalogInterval {
        app.addServices(ImageToolCatalog(registry: components.tools, containers: components.containers, startup: startup,
                                         interval: interval, logger: logger))
    }
    if let interval = configuration.tools.searchIndexInterval {
        app.addServices(ToolSearchIndexer(search: components.toolSearch, startup: startup, wakeUp: components.tools.changed,
                                          interval: interval, logger: logger))
    }
    app.beforeServerStarts {
        try await database.migrate()
        // The installation's id labels its containers: made before anything can start one.
        _ = try await components.containers.instanceId()
        try await components.memory.prepare()
        try await AdminBootstrap(configuration: configuration, database: database, passwords: components.passwords,
                                 logger: logger).run()
        startup.open()
    }
    return (app, components)
}

/// All routes and middleware, each controller given what it uses. Public so tests can
/// compare the routes with the OpenAPI document.
public func buildRouter(_ components: AppComponents) -> Router<AppRequestContext> {
    let c = components
    let configuration = c.configuration
    let database = c.database
    let router = Router(context: AppRequestContext.self)
    router.add(middleware: TraceMiddleware())
    router.add(middleware: HTTPMetricsMiddleware(registry: c.metrics))
    router.add(middleware: ErrorMiddleware())
    router.add(middleware: SecurityHeadersMiddleware())
    if let origin = configuration.corsOrigin {
        router.add(middleware: CORSMiddleware(
            allowOrigin: origin == "*" ? .all : .custom(origin),
            allowHeaders: [.authorization, .contentType, .traceparent, .tracestate],
            allowMethods: [.get, .post, .put, .patch, .delete, .options],
            exposedHeaders: ["traceparent", "X-Trace-Id", "Retry-After"], maxAge: .seconds(600)))
    }
    if configuration.rateLimit.enabled {
        router.add(middleware: RateLimitMiddleware(configuration: configuration, tokens: c.tokens, requestLimiter: c.requestLimiter,
                                                   trustProxy: configuration.trustProxy))
    }
    OpsController(configuration: configuration, database: database, metrics: c.metrics).addRoutes(to: router)
    if let site = c.console {
        ConsoleRoutes(site: site, trustProxy: configuration.trustProxy, secureCookies: configuration.cookieSecure)
            .addRoutes(to: router)
    }

    let api = router.group("api")
    let auth = c.auth
    let authController = AuthController(database: database, passwords: c.passwords, sessions: c.sessions,
                                        trustProxy: configuration.trustProxy, auth: auth)
    authController.addPublicRoutes(to: api.group("auth"))
    let authenticated = api.group().add(middleware: AuthMiddleware(auth: auth))
    authController.addAuthenticatedRoutes(auth: authenticated.group("auth"), users: authenticated.group("users"))
    authController.addSessionRoutes(public: api.group("auth"), authenticated: authenticated.group("auth"),
                                    secureCookies: configuration.cookieSecure)
    AdminUsersController(database: database, passwords: c.passwords, sessions: c.sessions)
        .addRoutes(to: authenticated.group("admin/users"))
    AdminSettingsController(database: database)
        .addRoutes(settings: authenticated.group("admin/settings"), audit: authenticated.group("audit"))
    let personas = authenticated.group("personas")
    PersonasController(configuration: configuration, database: database, containers: c.containers, memory: c.memory)
        .addRoutes(to: personas)
    MembersController(database: database).addRoutes(to: personas)
    SecretsController(database: database, secretBox: c.secretBox).addRoutes(to: personas)
    ConnectorsController(configuration: configuration, database: database, secretBox: c.secretBox,
                         tester: ConnectorTester(settings: configuration.connectors).test, changed: c.connectorsChanged)
        .addRoutes(to: personas)
    AgentsController(configuration: configuration, database: database)
        .addRoutes(personas: personas, agents: authenticated.group("agents"))
    ContainersController(configuration: configuration, database: database, containers: c.containers, tools: c.tools)
        .addRoutes(to: personas)
    ToolsController(database: database, tools: c.tools, search: c.toolSearch, containers: c.containers, settings: configuration.tools)
        .addRoutes(to: authenticated.group("tools"))
    DesktopController(database: database, containers: c.containers).addRoutes(to: personas)
    HealthController(database: database).addRoutes(personas: personas, admin: authenticated.group("admin"))
    DashboardController(database: database).addRoutes(to: authenticated.group("dashboard"))
    MemoryController(database: database, memory: c.memory).addRoutes(to: personas)
    RunsController(configuration: configuration, database: database, runWakeUp: c.runWakeUp)
        .addRoutes(to: authenticated.group("runs"))
    return router
}

/// Owns the shared HTTP client for the life of the service group and shuts it down after
/// the services that use it (the group stops services in reverse order).
struct HTTPClientService: Service {
    let client: HTTPClient
    let containers: ContainerManager

    func run() async throws {
        try? await gracefulShutdown()
        await containers.shutdown()
        try await client.shutdown()
    }
}
