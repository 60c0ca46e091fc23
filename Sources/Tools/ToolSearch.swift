import Foundation
import Logging
import Memory
import PersonaCore
import PersonaKit
import PersonaStorage
import SQLKit

/// One result of a tool search (`GET /api/tools/search`).
package struct ToolSearchResultDTO: Codable, Sendable {
    package var tool: CatalogToolDTO
    /// Cosine similarity of the query and the tool's text; `null` when either has no vector.
    package var similarity: Double?
    /// The hybrid score results are ordered by.
    package var score: Double
    /// What the tool needs, transitively, in install order.
    package var dependencyChain: [ToolDetailDTO.Link]
}

/// Semantic tool search: the newest version of every tool, embedded with the memory embedder
/// (name, description, input property names), ranked by ``ToolSearchIndex``'s hybrid score.
/// The vectors are stored per tool version and model (pgvector on PostgreSQL, blobs on SQLite);
/// the ranking runs over an in-memory snapshot of the catalog in every process, rebuilt when the
/// catalog or its vectors change (checked at most every ``refreshInterval``).
package actor ToolSearch {
    package let registry: ToolRegistry
    package let embedder: MemoryEmbedder
    private let embeddings: ToolEmbeddingRepository
    private let logger: Logger
    /// How stale a snapshot may be before a search checks the database's signature again.
    package let refreshInterval: Duration
    /// Whether searches embed what has no vector yet (no background indexer runs).
    package let embedOnDemand: Bool

    private struct Snapshot {
        var index: ToolSearchIndex
        var latest: [String: CatalogTool]
        var versions: [String: [String]]
        var signature: String
        var checkedAt: ContinuousClock.Instant
    }

    private var snapshot: Snapshot?
    private var reportedEmbedderFailure = false

    package init(registry: ToolRegistry, embedder: MemoryEmbedder, embedOnDemand: Bool, refreshInterval: Duration = .seconds(1),
                 logger: Logger) {
        self.registry = registry
        self.embedder = embedder
        self.embedOnDemand = embedOnDemand
        self.embeddings = ToolEmbeddingRepository(kind: registry.database.kind)
        self.refreshInterval = refreshInterval
        self.logger = logger
    }

    private var database: Database { registry.database }

    /// The best `limit` tools for `query`, each with its dependency chain; only the tools a
    /// persona has switched on when `enabledFor` names one.
    package func search(_ query: String, limit: Int, enabledFor personaId: String? = nil) async throws -> [ToolSearchResultDTO] {
        var allowed: Set<String>?
        if let personaId {
            let switches = try await database.withConnection { try await registry.personaTools.switches(personaId: personaId, on: $0) }
            allowed = Set(switches.filter(\.value.enabled).keys)
        }
        let (current, hits) = try await ranked(query, limit: limit, among: allowed)
        let chains = try await database.withConnection { try await registry.catalog.chains(of: hits.map(\.id), on: $0) }
        return hits.compactMap { hit in
            guard let tool = current.latest[hit.name] else { return nil }
            return ToolSearchResultDTO(
                tool: CatalogToolDTO(tool, versions: current.versions[hit.name] ?? [tool.version]),
                similarity: hit.similarity.map { Double($0) }, score: Double(hit.score),
                dependencyChain: (chains[hit.id] ?? []).map(ToolDetailDTO.Link.init))
        }
    }

    /// The ranked names only (what a run step offers the model), from the same snapshot.
    package func rank(_ query: String, limit: Int, among allowed: Set<String>) async throws -> [ToolSearchIndex.Hit] {
        try await ranked(query, limit: limit, among: allowed).hits
    }

    private func ranked(_ query: String, limit: Int, among allowed: Set<String>?) async throws -> (Snapshot, hits: [ToolSearchIndex.Hit]) {
        if embedOnDemand { _ = try? await embedMissing() }
        let current = try await currentSnapshot()
        return (current, current.index.search(query, queryVector: await queryVector(query), limit: limit, allowed: allowed))
    }

    /// The names of every tool the given versions depend on, transitively.
    package func dependencyNames(of toolIds: [String]) async throws -> Set<String> {
        let chains = try await database.withConnection { try await registry.catalog.chains(of: toolIds, on: $0) }
        return Set(chains.values.flatMap { $0.map(\.name) })
    }

    /// Embeds every tool version whose current text has no vector under the embedder's model
    /// (new versions, and manifests whose text changed).
    /// - Returns: how many were embedded.
    @discardableResult
    package func embedMissing(batchSize: Int = 32) async throws -> Int {
        let model = embedder.modelId
        let (tools, stored) = try await database.withConnection { db in
            (try await registry.catalog.all(on: db), try await embeddings.all(model: model, on: db))
        }
        let hashes = Dictionary(stored.map { ($0.toolId, $0.textHash) }, uniquingKeysWith: { a, _ in a })
        let missing = tools.compactMap { tool -> (id: String, text: String, hash: String)? in
            let text = ToolSearchIndex.text(tool.manifest)
            let hash = ContentHash(text).description
            return hashes[tool.id] == hash ? nil : (tool.id, text, hash)
        }
        for batch in missing.chunked(into: batchSize) {
            try Task.checkCancellation()
            let vectors = try await embedder.embed(batch.map(\.text))
            try await database.transaction { tx in
                for (item, vector) in zip(batch, vectors) {
                    try await embeddings.upsert(toolId: item.id, model: model, textHash: item.hash, vector: vector, now: Date(), on: tx)
                }
            }
        }
        if !missing.isEmpty {
            snapshot = nil
            logger.info("tool search vectors computed", metadata: ["tools": "\(missing.count)", "model": "\(model)"])
        }
        return missing.count
    }

    private func queryVector(_ query: String) async -> [Float]? {
        do {
            let vector = try await embedder.embed([query]).first
            reportedEmbedderFailure = false
            return vector
        } catch {
            // Keyword ranking still answers; say once why it is alone.
            if !reportedEmbedderFailure {
                logger.warning("tool search without vectors: the embedder failed", metadata: ["error": "\(error)"])
                reportedEmbedderFailure = true
            }
            return nil
        }
    }

    private func currentSnapshot() async throws -> Snapshot {
        let now = ContinuousClock.now
        if let snapshot, now - snapshot.checkedAt < refreshInterval { return snapshot }
        let model = embedder.modelId
        let signature = try await database.withConnection { try await registry.catalog.signature(model: model, on: $0) }
        if var snapshot, snapshot.signature == signature {
            snapshot.checkedAt = now
            self.snapshot = snapshot
            return snapshot
        }
        let (tools, stored) = try await database.withConnection { db in
            (try await registry.catalog.all(on: db), try await embeddings.all(model: model, on: db))
        }
        var byName: [String: [CatalogTool]] = [:]
        for tool in tools { byName[tool.name, default: []].append(tool) }
        var latest: [String: CatalogTool] = [:]
        var versions: [String: [String]] = [:]
        for (name, all) in byName {
            let sorted = ToolRegistry.newestFirst(all)
            latest[name] = sorted[0]
            versions[name] = sorted.map(\.version)
        }
        let vectors = Dictionary(stored.map { ($0.toolId, ($0.textHash, $0.vector)) }, uniquingKeysWith: { a, _ in a })
        let entries = latest.values.sorted { $0.name < $1.name }.map { tool -> ToolSearchIndex.Entry in
            let text = ToolSearchIndex.text(tool.manifest)
            // A vector of an older text of this version would rank it by what it used to say.
            let vector = vectors[tool.id].flatMap { $0.0 == ContentHash(text).description ? $0.1 : nil }
            return ToolSearchIndex.Entry(id: tool.id, name: tool.name, text: text, vector: vector)
        }
        let fresh = Snapshot(index: ToolSearchIndex(entries: entries, dimension: embedder.dimension), latest: latest,
                             versions: versions, signature: signature, checkedAt: now)
        snapshot = fresh
        return fresh
    }
}

extension Array {
    fileprivate func chunked(into size: Int) -> [ArraySlice<Element>] {
        stride(from: 0, to: count, by: size).map { self[$0..<Swift.min($0 + size, count)] }
    }
}
