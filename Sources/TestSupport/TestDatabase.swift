import ControlPlane
import Foundation
import Logging
import PostgresNIO

/// The storage backends every API test runs against.
public enum TestBackend: String, CaseIterable, Sendable, CustomStringConvertible {
    case sqlite
    case postgres

    public var description: String { rawValue }

    /// `PERSONA_TEST_DATABASE_URL`, which the test script sets after starting PostgreSQL.
    public static var postgresURL: String? {
        ProcessInfo.processInfo.environment["PERSONA_TEST_DATABASE_URL"].flatMap { $0.isEmpty ? nil : $0 }
    }
}

/// A fault in the test set-up itself (not in the code under test).
public struct TestSetupError: Error, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// Creates and drops the per-test PostgreSQL schema that isolates a test.
enum PostgresSchemas {
    static func run(_ sql: String, url: String) async throws {
        var configuration = try PostgresClient.Configuration.fromTestURL(url)
        configuration.options.maximumConnections = 1
        let client = PostgresClient(configuration: configuration)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await client.run() }
            defer { group.cancelAll() }
            try await client.query(PostgresQuery(unsafeSQL: sql))
        }
    }
}

extension PostgresClient.Configuration {
    static func fromTestURL(_ url: String) throws -> Self {
        guard let parts = URLComponents(string: url), let host = parts.host else {
            throw TestSetupError("PERSONA_TEST_DATABASE_URL is not a URL: \(url)")
        }
        return .init(host: host, port: parts.port ?? 5432, username: parts.user ?? "postgres",
                     password: parts.password, database: String(parts.path.dropFirst()), tls: .disable)
    }
}
