import ArgumentParser
import ControlPlane
import Foundation
import Hummingbird
import Logging
import Memory
import PersonaCore
import PersonaStorage

@main
struct PersonaControlPlane: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "persona-control-plane",
        abstract: "Persona Platform control plane",
        subcommands: [Serve.self, Migrate.self, Backup.self, Restore.self],
        defaultSubcommand: Serve.self)
}

/// Options shared by the subcommands.
struct CommonOptions: ParsableArguments {
    @Option(help: "A .env file read under the process environment.")
    var envFile = ".env"
}

extension CommonOptions {
    func load() throws -> (AppConfiguration, Logger) {
        try AppConfiguration.bootstrap(envFile: envFile, label: "persona-control-plane")
    }
}

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Run the HTTP API (default).")

    @OptionGroup var common: CommonOptions
    @Option(help: "Listen address (overrides HOST).") var host: String?
    @Option(help: "Listen port (overrides PORT).") var port: Int?

    func run() async throws {
        var (configuration, logger) = try common.load()
        if let host { configuration.host = host }
        if let port { configuration.port = port }
        let (app, _) = try await buildApplication(configuration: configuration, logger: logger)
        logger.info("starting", metadata: [
            "address": "\(configuration.host):\(configuration.port)",
            "database": "\(configuration.databaseURL == nil ? "sqlite:\(configuration.sqlitePath)" : "postgres")",
            "mode": "\(configuration.mode.rawValue)",
        ])
        if !configuration.memory.embedderAvailable {
            logger.warning("memory has no embedder: uploads will fail to ingest and memory search falls back to keywords", metadata: [
                "modelsDirectory": "\(configuration.memory.modelsDirectory)",
                "fix": "run scripts/fetch-models, or set PERSONA_MODELS_DIR to the folder holding \(MemorySettings.localModelName)",
            ])
        }
        try await app.runService()
    }
}

struct Migrate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Apply database migrations and exit.")
    @OptionGroup var common: CommonOptions

    func run() async throws {
        let (configuration, logger) = try common.load()
        try await Database.with(configuration: configuration, logger: logger) { try await $0.migrate() }
    }
}

struct Backup: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Copy the database and STORAGE_PATH into a new directory (safe while the server runs).")
    @OptionGroup var common: CommonOptions
    @Option(help: "The backup directory: new, or empty.") var to: String

    func run() async throws {
        let (configuration, logger) = try common.load()
        print(try await BackupService(configuration: configuration, logger: logger).run(to: to))
    }
}

struct Restore: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Put a backup back under the configured database and STORAGE_PATH (stop the server first).")
    @OptionGroup var common: CommonOptions
    @Option(help: "The backup directory.") var from: String
    @Flag(help: "Replace a database that holds tables and the documents, tools and personas in STORAGE_PATH.") var force = false

    func run() async throws {
        let (configuration, logger) = try common.load()
        print(try await RestoreService(configuration: configuration, logger: logger).run(from: from, force: force))
    }
}
