import ControlPlane
import DockerEngine
import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import PersonaKit

/// A control plane under test on a fresh database: a new SQLite file, or a new schema in
/// the test PostgreSQL server.
public struct TestApp: Sendable {
    public static let adminEmail = "admin@example.com"
    public static let adminPassword = "correct horse battery staple"

    /// Builds the configuration every test starts from; `configure` adjusts it.
    public static func configuration(backend: TestBackend, storage: String) throws -> AppConfiguration {
        var c = AppConfiguration()
        c.storagePath = storage
        c.databaseURL = nil
        if backend == .postgres {
            guard let url = TestBackend.postgresURL else {
                throw TestSetupError("PERSONA_TEST_DATABASE_URL is not set: run the tests with scripts/test, which starts PostgreSQL with pgvector")
            }
            c.databaseURL = url
        }
        c.jwtSecret = Array("test-jwt-secret-0123456789abcdef0123456789".utf8)
        c.jwtRefreshSecret = Array("test-refresh-secret-0123456789abcdef012345".utf8)
        c.encryptionKey = Array(repeating: 7, count: 32)
        c.adminEmail = adminEmail
        c.adminPassword = adminPassword
        c.bcryptCost = 4
        c.rateLimit.enabled = false
        c.port = 0
        // Short per-test directories (socket paths must fit 108 bytes), the engine the test
        // environment names, and a label `scripts/test` checks for leftovers.
        let short = Identifier.make().replacingOccurrences(of: "-", with: "").suffix(10)
        c.containers.runDirectory = "/tmp/pr-\(short)"
        c.containers.controlSocketDirectory = "/tmp/pc-\(short)"
        c.containers.dockerEndpoint = (try? Docker.Endpoint.fromEnvironment()) ?? c.containers.dockerEndpoint
        c.containers.personaImage = ProcessInfo.processInfo.environment["PERSONA_IMAGE"] ?? c.containers.personaImage
        c.containers.extraContainerLabels = ["io.persona.test": "1"]
        c.containers.supervisorHeartbeatSeconds = 1
        c.containers.reconcileIntervalSeconds = 2
        // Tests take health samples themselves (HealthMonitor.sample), when they want them.
        c.containers.healthIntervalSeconds = 0
        c.memory.modelsDirectory = ProcessInfo.processInfo.environment["PERSONA_MODELS_DIR"] ?? "./models"
        c.memory.curatorIntervalSeconds = 0  // tests call curateOnce()
        // No background catalog work in test apps (each would read the images and embed the
        // catalog at start): tests that need it call ImageToolCatalog.load and embedMissing.
        c.tools.searchIndexInterval = nil
        c.tools.imageCatalogInterval = nil
        return c
    }

    /// Runs `body` against a fresh application in Hummingbird's router test mode.
    public static func run<T: Sendable>(
        _ backend: TestBackend,
        setup: TestingSetup = .router,
        configure: @Sendable (inout AppConfiguration) -> Void = { _ in },
        _ body: @Sendable (APIClient, AppComponents) async throws -> T
    ) async throws -> T {
        let storage = FileManager.default.temporaryDirectory.appendingPathComponent("persona-test-\(Identifier.make())").path
        defer { try? FileManager.default.removeItem(atPath: storage) }
        var configuration = try configuration(backend: backend, storage: storage)
        configure(&configuration)
        let directories = [configuration.containers.runDirectory, configuration.containers.controlSocketDirectory]
        defer { for directory in directories { try? FileManager.default.removeItem(atPath: directory) } }
        var schema: String?
        if backend == .postgres, let url = configuration.databaseURL {
            let name = "t_" + Identifier.make().replacingOccurrences(of: "-", with: "")
            try await PostgresSchemas.run("CREATE SCHEMA \(name)", url: url)
            schema = name
        }
        let url = configuration.databaseURL
        func dropSchema() async {
            if let schema, let url { try? await PostgresSchemas.run("DROP SCHEMA \(schema) CASCADE", url: url) }
        }
        var logger = Logger(label: "test")
        logger.logLevel = ProcessInfo.processInfo.environment["TEST_LOG_LEVEL"].flatMap(Logger.Level.init(rawValue:)) ?? .critical
        do {
            let (app, services) = try await buildApplication(configuration: configuration, searchPath: schema, logger: logger)
            let value: T
            do {
                value = try await app.test(setup) { client in
                    let value = try await body(APIClient(client: client), services)
                    await services.containers.removeManagedContainers()
                    return value
                }
            } catch {
                await services.containers.removeManagedContainers()
                throw error
            }
            // Once more with every service stopped: nothing can start or restart one now.
            await services.containers.removeManagedContainers()
            await dropSchema()
            return value
        } catch {
            await dropSchema()
            throw error
        }
    }

    /// Runs `body` against a second live control plane on the same database (a replica: the
    /// same PostgreSQL schema), while the first one from ``run(_:setup:configure:_:)`` runs.
    public static func replica<T: Sendable>(
        of primary: AppComponents,
        _ body: @Sendable (APIClient, AppComponents) async throws -> T
    ) async throws -> T {
        var configuration = primary.configuration
        let short = Identifier.make().replacingOccurrences(of: "-", with: "").suffix(10)
        configuration.containers.runDirectory = "/tmp/pr-\(short)"
        configuration.containers.controlSocketDirectory = "/tmp/pc-\(short)"
        defer {
            for directory in [configuration.containers.runDirectory, configuration.containers.controlSocketDirectory] {
                try? FileManager.default.removeItem(atPath: directory)
            }
        }
        var logger = Logger(label: "replica")
        logger.logLevel = ProcessInfo.processInfo.environment["TEST_LOG_LEVEL"].flatMap(Logger.Level.init(rawValue:)) ?? .critical
        let (app, services) = try await buildApplication(configuration: configuration, searchPath: primary.searchPath, logger: logger)
        return try await app.test(.live) { client in try await body(APIClient(client: client), services) }
    }
}
