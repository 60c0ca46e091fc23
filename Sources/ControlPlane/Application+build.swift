import AsyncHTTPClient
import Foundation
import Hummingbird
import Logging
import PersonaKit
import ServiceLifecycle
import LLM
import PersonaCore
import PersonaStorage

/// The control plane's HTTP application type.
public typealias ControlPlaneApplication = Application<RouterResponder<AppRequestContext>>

/// Builds the control plane: opens the database, runs migrations and the first-start admin
/// bootstrap before the server accepts requests, and wires every route. Tests call this too.
/// - Parameters:
///   - configuration: the loaded configuration.
///   - searchPath: PostgreSQL schema to isolate in (tests).
///   - logger: the application logger.
/// - Throws: ``ConfigurationError`` or a storage error when the database cannot be opened.
public func buildApplication(configuration: AppConfiguration, searchPath: String? = nil,
                             logger: Logger) async throws -> (ControlPlaneApplication, AppServices) {
    let database = try Database.open(configuration: configuration, searchPath: searchPath, logger: logger)
    let services = await AppServices(configuration: configuration, database: database, logger: logger)
    let router = buildRouter(services: services)
    let http = services.http
    var llmConfiguration = LLMClient.Configuration(baseURL: configuration.litellmProxyURL, apiKey: configuration.litellmAPIKey)
    llmConfiguration.timeout = .seconds(Int64(configuration.llmTimeoutSeconds))
    let llm = LLMClient(configuration: llmConfiguration, http: http, logger: logger)
    let worker = RunWorker(services: services, llm: llm,
                           tools: SupervisorToolInvoker(services: services), configuration: configuration.runWorker,
                           wakeUp: services.runWakeUp, logger: logger)
    var app = Application(
        router: router,
        configuration: .init(address: .hostname(configuration.host, port: configuration.port),
                             serverName: "persona-control-plane"),
        services: [database.service, HTTPClientService(client: http, containers: services.containers), worker,
                   InternalAPIServer(services: services, logger: logger), Reconciler(services: services, logger: logger),
                   RetentionService(services: services, logger: logger),
                   MemoryIngestionWorker(services: services, logger: logger),
                   MemoryCurator(services: services, llm: llm, logger: logger)],
        logger: logger)
    app.beforeServerStarts {
        try await database.migrate()
        // The installation's id labels its containers: made before anything can start one.
        _ = try await services.containers.instanceId()
        try await services.memory.prepare()
        try await AdminBootstrap(services: services, logger: logger).run()
        services.startup.open()
    }
    return (app, services)
}

/// All routes and middleware. Public so tests can compare the routes with the OpenAPI document.
public func buildRouter(services: AppServices) -> Router<AppRequestContext> {
    let router = Router(context: AppRequestContext.self)
    router.add(middleware: TraceMiddleware())
    router.add(middleware: HTTPMetricsMiddleware(registry: services.metrics))
    router.add(middleware: ErrorMiddleware())
    router.add(middleware: SecurityHeadersMiddleware())
    if let origin = services.configuration.corsOrigin {
        router.add(middleware: CORSMiddleware(
            allowOrigin: origin == "*" ? .all : .custom(origin),
            allowHeaders: [.authorization, .contentType, .traceparent, .tracestate],
            allowMethods: [.get, .post, .put, .patch, .delete, .options],
            exposedHeaders: ["traceparent", "X-Trace-Id", "Retry-After"], maxAge: .seconds(600)))
    }
    if services.configuration.rateLimit.enabled {
        router.add(middleware: RateLimitMiddleware(services: services))
    }
    OpsController(services: services).addRoutes(to: router)

    let api = router.group("api")
    let authController = AuthController(services: services)
    authController.addPublicRoutes(to: api.group("auth"))
    let authenticated = api.group().add(middleware: AuthMiddleware(auth: AuthService(services: services)))
    authController.addAuthenticatedRoutes(auth: authenticated.group("auth"), users: authenticated.group("users"))
    AdminUsersController(services: services).addRoutes(to: authenticated.group("admin/users"))
    AdminSettingsController(services: services).addRoutes(settings: authenticated.group("admin/settings"),
                                                          audit: authenticated.group("audit"))
    let personas = authenticated.group("personas")
    PersonasController(services: services).addRoutes(to: personas)
    MembersController(services: services).addRoutes(to: personas)
    SecretsController(services: services).addRoutes(to: personas)
    AgentsController(services: services).addRoutes(personas: personas, agents: authenticated.group("agents"))
    ContainersController(services: services).addRoutes(to: personas)
    DesktopController(services: services).addRoutes(to: personas)
    MemoryController(services: services).addRoutes(to: personas)
    RunsController(services: services).addRoutes(to: authenticated.group("runs"))
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
