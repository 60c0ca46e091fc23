import Logging
import PersonaCore
import PersonaStorage

extension AppConfiguration {
    /// What an executable does first: loads the configuration from the environment over
    /// `envFile`, bootstraps the JSON log handler (stdout and `LOG_FILE`) and returns a logger.
    /// - Throws: ``ConfigurationError``, or ``CoreError`` when `LOG_FILE` cannot be opened.
    public static func bootstrap(envFile: String, label: String) throws -> (AppConfiguration, Logger) {
        let configuration = try AppConfiguration.load(environment: Environment.load(dotenvPath: envFile))
        let sink = try JSONLogHandler.Sink(path: configuration.logFile)
        let level = configuration.logLevel
        LoggingSystem.bootstrap { JSONLogHandler(label: $0, level: level, sink: sink) }
        var logger = Logger(label: label)
        logger.logLevel = level
        return (configuration, logger)
    }
}

extension Database {
    /// Opens the configured database and runs `body` while its service runs (commands that
    /// work on the database without serving: migrate, backup, restore, the benchmarks).
    /// - Parameter searchPath: a PostgreSQL schema to use before `public` (tests).
    public static func with<T: Sendable>(configuration: AppConfiguration, searchPath: String? = nil, logger: Logger,
                                         _ body: (Database) async throws -> T) async throws -> T {
        let database = try Database.open(configuration: configuration, searchPath: searchPath, logger: logger)
        return try await withThrowingTaskGroup(of: Void.self) { group in
            let service = database.service
            group.addTask { try await service.run() }
            defer { group.cancelAll() }
            return try await body(database)
        }
    }
}
