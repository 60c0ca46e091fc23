import ControlPlane
import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import PersonaKit

extension TestApp {
    /// Runs `body` against an application on a configuration and database that already exist
    /// (a restored backup, say): unlike ``run(_:configure:_:)`` nothing is created before and
    /// only the containers it started are removed after; the caller owns the storage and the
    /// database.
    public static func run<T: Sendable>(
        configuration: AppConfiguration, searchPath: String?,
        _ body: @Sendable (APIClient, AppComponents) async throws -> T
    ) async throws -> T {
        let (app, services) = try await buildApplication(configuration: configuration, searchPath: searchPath, logger: testLogger)
        do {
            let value = try await app.test(.router) { client in
                let value = try await body(APIClient(client: client), services)
                await services.containers.removeManagedContainers()
                return value
            }
            await services.containers.removeManagedContainers()
            return value
        } catch {
            await services.containers.removeManagedContainers()
            throw error
        }
    }

    /// The test logger: `TEST_LOG_LEVEL` (default critical).
    public static var testLogger: Logger {
        var logger = Logger(label: "test")
        logger.logLevel = ProcessInfo.processInfo.environment["TEST_LOG_LEVEL"].flatMap(Logger.Level.init(rawValue:)) ?? .critical
        return logger
    }

    /// Runs `body` with the URL of a new, empty PostgreSQL database on the test server (no
    /// extension, no schema of ours), dropped afterwards whatever happens.
    public static func withFreshPostgresDatabase<T: Sendable>(_ body: @Sendable (String) async throws -> T) async throws -> T {
        guard let url = TestBackend.postgresURL, var parts = URLComponents(string: url) else {
            throw TestSetupError("PERSONA_TEST_DATABASE_URL is not set: run the tests with scripts/test, which starts PostgreSQL with pgvector")
        }
        let name = "r_" + Identifier.make().replacingOccurrences(of: "-", with: "")
        try await PostgresSchemas.run("CREATE DATABASE \(name)", url: url)
        parts.path = "/" + name
        guard let fresh = parts.string else { throw TestSetupError("cannot make a URL for database \(name)") }
        do {
            let value = try await body(fresh)
            try? await PostgresSchemas.run("DROP DATABASE \(name) WITH (FORCE)", url: url)
            return value
        } catch {
            try? await PostgresSchemas.run("DROP DATABASE \(name) WITH (FORCE)", url: url)
            throw error
        }
    }
}
