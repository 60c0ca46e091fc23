import Foundation
import Logging
import PersonaCore
import NIOSSL
import PostgresKit

extension Database {
    /// Opens PostgreSQL for a `postgres://` URL, otherwise the SQLite file at `sqlitePath`
    /// (its directory is created).
    /// - Parameters:
    ///   - url: `DATABASE_URL`, or `nil` for the embedded SQLite database.
    ///   - sqlitePath: the SQLite file (`STORAGE_PATH/persona.db`).
    ///   - searchPath: a PostgreSQL schema to use before `public` (tests isolate themselves
    ///     this way).
    /// - Throws: ``ConfigurationError`` for a URL that cannot be used.
    public static func open(url: String?, sqlitePath: String, searchPath: String? = nil, logger: Logger) throws -> Database {
        if let url {
            let client = PostgresClient(configuration: try postgresConfiguration(url: url, searchPath: searchPath),
                                        backgroundLogger: logger)
            return Database(kind: .postgres, backend: .postgres(client), logger: logger,
                            personaPages: PersonaPageLoader(client: client, logger: logger))
        }
        let directory = URL(fileURLWithPath: sqlitePath).deletingLastPathComponent().path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let pool = SQLiteConnectionPool(path: sqlitePath, size: 4, logger: logger)
        return Database(kind: .sqlite, backend: .sqlite(pool), logger: logger)
    }

    /// Builds a postgres-nio configuration from a `postgres://user:pass@host:port/db?sslmode=...` URL.
    /// As with libpq, a `host` parameter that is a directory (`postgres://user:pass@/db?host=/run/postgresql`,
    /// optionally `&port=5433`) means PostgreSQL's unix socket in that directory (`.s.PGSQL.<port>`):
    /// the cheaper way to reach a PostgreSQL on the same machine (no TCP stack on either side).
    package static func postgresConfiguration(url: String, searchPath: String?) throws -> PostgresClient.Configuration {
        guard let parts = URLComponents(string: url), parts.scheme == "postgres" || parts.scheme == "postgresql" else {
            throw ConfigurationError("DATABASE_URL is not a valid postgres:// URL")
        }
        let database = parts.path.hasPrefix("/") ? String(parts.path.dropFirst()) : parts.path
        let query = Dictionary((parts.queryItems ?? []).map { ($0.name, $0.value ?? "") }, uniquingKeysWith: { $1 })
        let username = parts.user?.removingPercentEncoding ?? "postgres"
        let password = parts.password?.removingPercentEncoding
        var configuration: PostgresClient.Configuration
        if let directory = query["host"], directory.hasPrefix("/") {
            configuration = PostgresClient.Configuration(
                unixSocketPath: "\(directory)/.s.PGSQL.\(parts.port ?? Int(query["port"] ?? "") ?? 5432)", username: username, password: password,
                database: database.isEmpty ? nil : database)
        } else {
            guard let host = parts.host, !host.isEmpty else {
                throw ConfigurationError("DATABASE_URL names no host (a unix socket is ?host=/directory)")
            }
            let tls: PostgresClient.Configuration.TLS
            switch query["sslmode"] ?? (["localhost", "127.0.0.1", "::1"].contains(host) ? "disable" : "prefer") {
            case "disable": tls = .disable
            case "prefer", "allow": tls = .prefer(.makeClientConfiguration())
            case "require", "verify-ca", "verify-full": tls = .require(.makeClientConfiguration())
            case let other: throw ConfigurationError("DATABASE_URL sslmode \(other) is not supported")
            }
            configuration = PostgresClient.Configuration(
                host: host, port: parts.port ?? 5432, username: username, password: password,
                database: database.isEmpty ? nil : database, tls: tls)
        }
        configuration.options.maximumConnections = Int(query["pool_max"] ?? "") ?? 20
        configuration.options.minimumConnections = Int(query["pool_min"] ?? "") ?? 0
        if query["pool_keepalive"] == "off" { configuration.options.keepAliveBehavior = nil }
        if let searchPath {
            configuration.options.additionalStartupParameters = [("search_path", "\(searchPath),public")]
        }
        return configuration
    }
}
