import ArgumentParser
import ControlPlane
import Foundation
import Hummingbird
import Logging
import PersonaCore
import PersonaStorage

@main
struct PersonaControlPlane: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "persona-control-plane",
        abstract: "Persona Platform control plane",
        subcommands: [Serve.self, Migrate.self, BenchGraph.self, BenchMemorySearch.self],
        defaultSubcommand: Serve.self)
}

/// Options shared by the subcommands.
struct CommonOptions: ParsableArguments {
    @Option(help: "A .env file read under the process environment.")
    var envFile = ".env"
}

extension CommonOptions {
    func load() throws -> (AppConfiguration, Logger) {
        let configuration = try AppConfiguration.load(environment: Environment.load(dotenvPath: envFile))
        let sink = try JSONLogHandler.Sink(path: configuration.logFile)
        let level = configuration.logLevel
        LoggingSystem.bootstrap { JSONLogHandler(label: $0, level: level, sink: sink) }
        var logger = Logger(label: "persona-control-plane")
        logger.logLevel = level
        return (configuration, logger)
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
        try await app.runService()
    }
}

extension CommonOptions {
    /// Opens the configured database and runs `body` while its service runs.
    func withDatabase<T: Sendable>(_ body: (AppConfiguration, PersonaStorage.Database) async throws -> T) async throws -> T {
        let (configuration, logger) = try load()
        let database = try Database.open(configuration: configuration, logger: logger)
        return try await withThrowingTaskGroup(of: Void.self) { group in
            let service = database.service
            group.addTask { try await service.run() }
            defer { group.cancelAll() }
            return try await body(configuration, database)
        }
    }
}

/// One line of sorted-key JSON, as the benchmark scripts read it.
func printJSONLine(_ value: some Encodable) throws {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys]
    print(String(decoding: try encoder.encode(value), as: UTF8.self))
}

struct Migrate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Apply database migrations and exit.")
    @OptionGroup var common: CommonOptions

    func run() async throws {
        try await common.withDatabase { _, database in try await database.migrate() }
    }
}

struct BenchGraph: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench-graph",
        abstract: "Benchmark the run orchestration (no-op nodes, real checkpoints) on the configured database; prints JSON.")
    @OptionGroup var common: CommonOptions
    @Option(help: "LLM steps per sequential run, comma-separated.") var steps = "10,50,100"
    @Option(help: "Concurrent runs.") var concurrent = 50
    @Option(help: "LLM steps of each concurrent run.") var concurrentSteps = 10

    func run() async throws {
        let counts = steps.split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }
        struct Report: Encodable { var sequential: [GraphBenchmark.Sequential]; var concurrent: GraphBenchmark.Concurrent }
        let report = try await common.withDatabase { _, database in
            let (sequential, concurrentResult) = try await GraphBenchmark.run(database: database, llmSteps: counts,
                                                                            concurrentRuns: concurrent, concurrentSteps: concurrentSteps)
            return Report(sequential: sequential, concurrent: concurrentResult)
        }
        try printJSONLine(report)
    }
}

struct BenchMemorySearch: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench-memory-search",
        abstract: "Benchmark memory retrieval (384-d chunks, one persona per size) on the configured database; prints JSON lines.")
    @OptionGroup var common: CommonOptions
    @Option(help: "Chunk counts, comma-separated (each in a fresh persona).") var sizes = "10000,100000"
    @Option(help: "Queries per size.") var queries = 200
    @Option(help: "A file of texts, one a line, embedded with the configured model for real vectors (the last --queries lines are the queries); synthetic clustered vectors without it.")
    var texts: String?

    func run() async throws {
        let counts = sizes.split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }
        try await common.withDatabase { configuration, database in
            var corpus: MemoryBenchmark.Corpus?
            if let texts {
                let lines = try String(contentsOfFile: texts, encoding: .utf8).split(separator: "\n").map(String.init)
                corpus = try await MemoryBenchmark.embed(configuration: configuration, texts: lines, queries: queries,
                                                         cache: texts + ".vectors")
            }
            for count in counts {
                try printJSONLine(try await MemoryBenchmark.run(configuration: configuration, database: database, chunks: count,
                                                                queries: queries, corpus: corpus))
            }
        }
    }
}
