import Logging
import PersonaStorage
import PersonaCore

extension Database {
    /// Opens the database the configuration names: PostgreSQL for a `DATABASE_URL`,
    /// otherwise SQLite at `STORAGE_PATH/persona.db`.
    /// - Parameter searchPath: a PostgreSQL schema to use before `public` (tests).
    /// - Throws: `ConfigurationError` for a `DATABASE_URL` that cannot be used.
    public static func open(configuration: AppConfiguration, searchPath: String? = nil, logger: Logger) throws -> Database {
        try open(url: configuration.databaseURL, sqlitePath: configuration.sqlitePath, searchPath: searchPath, logger: logger)
    }
}
