import ControlPlane
import Foundation
import LLM
import Logging
import Memory
import PersonaKit
import PersonaStorage
import Tools

/// The tool search benchmark `scripts/bench-tools` runs through `persona-bench tools`: a
/// catalog of realistic tools and paraphrased intents (`scripts/bench-tools-data/`), on the
/// configured database and embedder.
enum ToolsBenchmark {
    struct CatalogEntry: Decodable {
        var name: String
        var category: String
        var description: String
        var properties: [String]
    }

    struct Intent: Decodable {
        var intent: String
        var tool: String
    }

    struct Accuracy: Encodable {
        var ranking: String
        var top1: Double
        var top3: Double
    }

    struct Latency: Encodable {
        var tools: Int
        var queries: Int
        /// The ranking alone over the in-memory snapshot (query vector given).
        var rankP50Ms: Double
        var rankP95Ms: Double
        /// `ToolSearch.search`: the query's embedding, the ranking and the chains' query.
        var searchP50Ms: Double
        var searchP95Ms: Double
        /// Embedding the catalog (tools per second).
        var embedToolsPerSecond: Double
    }

    struct Tokens: Encodable {
        var tools: Int
        var steps: Int
        var limit: Int
        var allTokens: Int
        var searchTokens: Int
        var ratio: Double
        var tokenizer: String
    }

    struct Sweep: Encodable {
        var vectorWeight: Double
        var top1: Double
        var top3: Double
    }

    struct Report: Encodable {
        var sweep: [Sweep]
        var catalogTools: Int
        var intents: Int
        var accuracy: [Accuracy]
        var misses: [String]
        var latency: [Latency]
        var tokens: Tokens
    }

    static func manifest(_ entry: CatalogEntry, suffix: String = "") -> ToolManifest {
        ToolManifest(name: entry.name + suffix, description: entry.description, category: entry.category,
                     inputSchema: ["type": "object", "properties": .object(Dictionary(uniqueKeysWithValues: entry.properties.map {
                         ($0, ["type": "string"] as JSONValue)
                     }))], command: ["run"])
    }

    static func run(configuration: AppConfiguration, database: Database, catalogPath: String, intentsPath: String,
                    sizes: [Int]) async throws -> Report {
        let entries = try JSONDecoder().decode([CatalogEntry].self, from: Data(contentsOf: URL(fileURLWithPath: catalogPath)))
        let intents = try JSONDecoder().decode([Intent].self, from: Data(contentsOf: URL(fileURLWithPath: intentsPath)))
        try await database.migrate()
        var logger = Logger(label: "persona-bench")
        logger.logLevel = .error
        let registry = ToolRegistry(database: database, logger: logger)
        let embedder = MemoryEmbedder(configuration: configuration, http: .shared)
        let search = ToolSearch(registry: registry, embedder: embedder, embedOnDemand: false, logger: logger)

        // Accuracy over the whole realistic catalog, the three rankings side by side.
        let manifests = entries.map { manifest($0) }
        _ = try await database.transaction { try await registry.register(manifests, source: .custom, on: $0) }
        try await search.embedMissing()
        let index = try await Self.index(manifests, embedder: embedder, database: database, registry: registry)
        let queryVectors = try await embedder.embed(intents.map(\.intent))
        /// Top-1 and top-3 hits over the intents, and the top-1 misses.
        func score(_ ranking: ToolSearchIndex.Ranking, vectorWeight: Float = ToolSearchIndex.vectorWeight)
            -> (top1: Double, top3: Double, misses: [String]) {
            var top1 = 0, top3 = 0
            var misses: [String] = []
            for (intent, vector) in zip(intents, queryVectors) {
                let names = index.search(intent.intent, queryVector: vector, limit: 3, ranking: ranking, vectorWeight: vectorWeight)
                    .map(\.name)
                if names.first == intent.tool { top1 += 1 } else { misses.append("\(intent.intent) -> \(names.first ?? "-") (want \(intent.tool))") }
                if names.contains(intent.tool) { top3 += 1 }
            }
            return (Double(top1) / Double(intents.count), Double(top3) / Double(intents.count), misses)
        }
        var misses: [String] = []
        let accuracy = ToolSearchIndex.Ranking.allCases.map { ranking -> Accuracy in
            let result = score(ranking)
            if ranking == .hybrid { misses = result.misses }
            return Accuracy(ranking: ranking.rawValue, top1: result.top1, top3: result.top3)
        }

        // The blend's weight, swept on the same intents (a look at how sensitive it is, not a
        // tuning: the default was chosen before this data existed).
        let sweep = stride(from: Float(0.5), through: 1.0, by: 0.05).map { weight -> Sweep in
            let result = score(.hybrid, vectorWeight: weight)
            return Sweep(vectorWeight: Double(weight), top1: result.top1, top3: result.top3)
        }

        // Latency at each size: a catalog of the first `size` tools (repeated with a suffix
        // beyond the realistic ones), in a fresh registry each.
        var latency: [Latency] = []
        for size in sizes {
            try await database.withConnection { db in
                for table in ["tool_embeddings", "persona_tools", "tool_dependencies", "tools"] { try await db.delete(from: table).run() }
            }
            let sized = (0..<size).map { i in manifest(entries[i % entries.count], suffix: i < entries.count ? "" : "_v\(i / entries.count)") }
            _ = try await database.transaction { try await registry.register(sized, source: .custom, on: $0) }
            let t0 = ContinuousClock.now
            let count = try await search.embedMissing()
            let rate = Double(count) / max((ContinuousClock.now - t0).seconds, 1e-9)
            let sizedIndex = try await Self.index(sized, embedder: embedder, database: database, registry: registry)
            var rank: [Double] = []
            for (intent, vector) in zip(intents, queryVectors) {
                let t = ContinuousClock.now
                _ = sizedIndex.search(intent.intent, queryVector: vector, limit: 5)
                rank.append((ContinuousClock.now - t).milliseconds)
            }
            var full: [Double] = []
            _ = try await search.search("warm up", limit: 5)
            for (n, intent) in intents.enumerated() {
                // A text the embedding cache has not seen: every search embeds its query.
                let t = ContinuousClock.now
                _ = try await search.search("\(intent.intent) (\(size)-\(n))", limit: 5)
                full.append((ContinuousClock.now - t).milliseconds)
            }
            latency.append(Latency(tools: size, queries: intents.count, rankP50Ms: percentile(rank, 0.5), rankP95Ms: percentile(rank, 0.95),
                                   searchP50Ms: percentile(full, 0.5), searchP95Ms: percentile(full, 0.95), embedToolsPerSecond: rate))
        }

        // Prompt tokens a 10-step run spends on tool schemas over 200 tools: every schema at
        // every step, against the top 5 for each step's request.
        let two = Array(manifests.prefix(200))
        let tokenizer = try await embedder.tokenizer()
        func tokens(_ manifest: ToolManifest) throws -> Int {
            let spec = Chat.Tool(name: manifest.name, description: manifest.description, parameters: manifest.inputSchema)
            return tokenizer.encode(String(decoding: try JSONEncoder().encode(spec), as: UTF8.self), maxLength: 100_000).count - 2
        }
        let perTool = Dictionary(uniqueKeysWithValues: try two.map { ($0.name, try tokens($0)) })
        let allPerStep = perTool.values.reduce(0, +)
        let twoIndex = try await Self.index(two, embedder: embedder, database: database, registry: registry, register: false)
        let stepIntents = intents.filter { perTool[$0.tool] != nil }.prefix(10)
        let stepVectors = try await embedder.embed(stepIntents.map(\.intent))
        var searchTokens = 0
        for (intent, vector) in zip(stepIntents, stepVectors) {
            searchTokens += twoIndex.search(intent.intent, queryVector: vector, limit: 5).reduce(0) { $0 + (perTool[$1.name] ?? 0) }
        }
        let steps = stepIntents.count
        let allTokens = allPerStep * steps
        return Report(sweep: sweep, catalogTools: entries.count, intents: intents.count, accuracy: accuracy, misses: Array(misses.prefix(40)),
                      latency: latency,
                      tokens: Tokens(tools: two.count, steps: steps, limit: 5, allTokens: allTokens, searchTokens: searchTokens,
                                     ratio: Double(searchTokens) / Double(max(allTokens, 1)),
                                     tokenizer: "all-MiniLM-L6-v2 WordPiece (a proxy; the ratio is what counts)"))
    }

    /// The search index of `manifests` with their stored vectors (what ToolSearch builds).
    static func index(_ manifests: [ToolManifest], embedder: MemoryEmbedder, database: Database, registry: ToolRegistry,
                      register: Bool = true) async throws -> ToolSearchIndex {
        let stored = try await database.withConnection { try await ToolEmbeddingRepository(kind: database.kind).all(model: embedder.modelId, on: $0) }
        let tools = try await database.withConnection { try await registry.catalog.all(on: $0) }
        let vectorById = Dictionary(stored.map { ($0.toolId, $0.vector) }, uniquingKeysWith: { a, _ in a })
        let idByName = Dictionary(tools.map { ($0.name, $0.id) }, uniquingKeysWith: { a, _ in a })
        var entries: [ToolSearchIndex.Entry] = []
        for manifest in manifests {
            var vector = idByName[manifest.name].flatMap { vectorById[$0] }
            if vector == nil, !register { vector = try await embedder.embed([ToolSearchIndex.text(manifest)]).first }
            entries.append(ToolSearchIndex.Entry(id: idByName[manifest.name] ?? manifest.name, name: manifest.name,
                                                 text: ToolSearchIndex.text(manifest), vector: vector))
        }
        return ToolSearchIndex(entries: entries, dimension: embedder.dimension)
    }

    static func percentile(_ values: [Double], _ p: Double) -> Double {
        guard !values.isEmpty else { return 0 }
        let sorted = values.sorted()
        return sorted[min(sorted.count - 1, Int((Double(sorted.count - 1) * p).rounded()))]
    }
}

extension Duration {
    fileprivate var seconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
    fileprivate var milliseconds: Double { seconds * 1000 }
}
