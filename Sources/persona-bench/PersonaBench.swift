import ArgumentParser
import ControlPlane
import Foundation
import Logging
import PersonaStorage

/// The benchmarks the `scripts/bench-*` drive, on the configured database (the same
/// configuration as the control plane: `DATABASE_URL`, `STORAGE_PATH`, ...); each prints JSON.
@main
struct PersonaBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "persona-bench",
        abstract: "Persona Platform benchmarks (scripts/bench-graph, scripts/bench-memory, scripts/bench-tools, scripts/bench-dashboard)",
        subcommands: [Graph.self, MemorySearch.self, ToolSearchBench.self, DashboardSeedCommand.self, DashboardProfileCommand.self,
                      EventsBench.self])
}

/// Options shared by the subcommands.
struct CommonOptions: ParsableArguments {
    @Option(help: "A .env file read under the process environment.")
    var envFile = ".env"

    func load() throws -> (AppConfiguration, Logger) {
        try AppConfiguration.bootstrap(envFile: envFile, label: "persona-bench")
    }
}

/// One line of sorted-key JSON, as the benchmark scripts read it.
func printJSONLine(_ value: some Encodable) throws {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys]
    print(String(decoding: try encoder.encode(value), as: UTF8.self))
}

struct Graph: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "graph",
        abstract: "Benchmark the run orchestration (no-op nodes, real checkpoints) on the configured database; prints JSON.")
    @OptionGroup var common: CommonOptions
    @Option(help: "LLM steps per sequential run, comma-separated.") var steps = "10,50,100"
    @Option(help: "Concurrent runs.") var concurrent = 50
    @Option(help: "LLM steps of each concurrent run.") var concurrentSteps = 10

    func run() async throws {
        let counts = steps.split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }
        struct Report: Encodable { var sequential: [GraphBenchmark.Sequential]; var concurrent: GraphBenchmark.Concurrent }
        let (configuration, logger) = try common.load()
        let report = try await Database.with(configuration: configuration, logger: logger) { database in
            let (sequential, concurrentResult) = try await GraphBenchmark.run(database: database, llmSteps: counts,
                                                                            concurrentRuns: concurrent, concurrentSteps: concurrentSteps)
            return Report(sequential: sequential, concurrent: concurrentResult)
        }
        try printJSONLine(report)
    }
}

struct MemorySearch: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "memory-search",
        abstract: "Benchmark memory retrieval (384-d chunks, one persona per size) on the configured database; prints JSON lines.")
    @OptionGroup var common: CommonOptions
    @Option(help: "Chunk counts, comma-separated (each in a fresh persona).") var sizes = "10000,100000"
    @Option(help: "Queries per size.") var queries = 200
    @Option(help: "A file of texts, one a line, embedded with the configured model for real vectors (the last --queries lines are the queries); synthetic clustered vectors without it.")
    var texts: String?

    func run() async throws {
        let counts = sizes.split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }
        let (configuration, logger) = try common.load()
        try await Database.with(configuration: configuration, logger: logger) { database in
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

struct ToolSearchBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tools",
        abstract: "Benchmark tool search (accuracy of hybrid vs BM25 vs vector ranking, latency, prompt tokens) on the configured database; prints JSON.")
    @OptionGroup var common: CommonOptions
    @Option(help: "The catalog: a JSON array of {name, category, description, properties}.")
    var catalog = "scripts/bench-tools-data/catalog.json"
    @Option(help: "The intents: a JSON array of {intent, tool}.")
    var intents = "scripts/bench-tools-data/intents.json"
    @Option(help: "Catalog sizes for the latency figures, comma-separated.") var sizes = "200,2000"

    func run() async throws {
        let counts = sizes.split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }
        let (configuration, logger) = try common.load()
        let report = try await Database.with(configuration: configuration, logger: logger) { database in
            try await ToolsBenchmark.run(configuration: configuration, database: database, catalogPath: catalog, intentsPath: intents,
                                         sizes: counts)
        }
        try printJSONLine(report)
    }
}
