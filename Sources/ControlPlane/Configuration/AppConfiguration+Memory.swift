import Foundation
import PersonaCore

/// Document memory: the embedder, chunking, search and the curator.
public struct MemorySettings: Sendable {
    public enum Provider: String, Sendable {
        /// all-MiniLM-L6-v2 in-process (``Embeddings/MiniLMEmbedder``), from ``modelsDirectory``.
        case local
        /// An OpenAI-compatible `/v1/embeddings` endpoint (the LiteLLM proxy).
        case openai
    }

    /// `EMBEDDING_PROVIDER`: `local` (default) or `openai`.
    public var provider = Provider.local
    /// `PERSONA_MODELS_DIR`: holds `all-MiniLM-L6-v2/{model.safetensors,vocab.txt}`.
    public var modelsDirectory = "./models"
    /// `EMBEDDING_MODEL`: the gateway's model name when `provider` is `openai`.
    public var remoteModel = "text-embedding-3-small"
    /// `EMBEDDING_DIMENSIONS`: vector length asked of the gateway (`dimensions`).
    public var remoteDimensions = 1536
    /// `EMBEDDING_THREADS`: threads of the local model (nil: one per core).
    public var localThreads: Int?
    /// Vectors kept in the embedding cache (same text, same model: never recomputed).
    public var cacheCapacity = 4096
    /// `MEMORY_CHUNK_TOKENS`: at most this many tokens a chunk (the model's 256 less [CLS]/[SEP]).
    public var chunkTokens = 254
    /// `MEMORY_CHUNK_OVERLAP`: tokens shared by consecutive chunks.
    public var chunkOverlapTokens = 50
    /// `MEMORY_CURATED_BOOST`: similarity added to curated chunks when ranking (bounded, so a
    /// clearly better uncurated match still wins).
    public var curatedBoost = 0.05
    /// `MEMORY_HNSW_EF_SEARCH`: pgvector's `hnsw.ef_search` for searches (candidate list
    /// size: recall against latency).
    public var hnswEfSearch = 100
    /// Ingestion lease, extended while a document is processed.
    public var ingestLeaseSeconds: Double = 60
    /// A document whose ingestion killed its worker this many times fails instead of retrying.
    public var maxIngestAttempts = 3
    /// `MEMORY_CURATOR_INTERVAL_SECONDS`: between curator passes (0 turns the curator off).
    public var curatorIntervalSeconds: Double = 3600
    /// `MEMORY_CURATOR_MIN_CHUNKS`: a persona needs this many uncurated chunks for a summary.
    public var curatorMinChunks = 20
    /// `MEMORY_CURATOR_BATCH`: chunks summarised into one curated entry.
    public var curatorBatchSize = 100
    /// `MEMORY_CURATOR_MODEL`: the gateway model that writes the summaries.
    public var curatorModel = "gpt-4o-mini"

    public init() {}
}

extension AppConfiguration {
    mutating func loadMemory(_ env: Environment) throws {
        var m = memory
        if let provider = env["EMBEDDING_PROVIDER"] {
            guard let parsed = MemorySettings.Provider(rawValue: provider.lowercased()) else {
                throw ConfigurationError("EMBEDDING_PROVIDER must be local or openai")
            }
            m.provider = parsed
        }
        m.modelsDirectory = env["PERSONA_MODELS_DIR"] ?? m.modelsDirectory
        m.remoteModel = env["EMBEDDING_MODEL"] ?? m.remoteModel
        m.remoteDimensions = try env.int("EMBEDDING_DIMENSIONS", default: m.remoteDimensions, range: 8...16_000)
        m.localThreads = try env["EMBEDDING_THREADS"].map { _ in try env.int("EMBEDDING_THREADS", default: 1, range: 1...256) }
        m.chunkTokens = try env.int("MEMORY_CHUNK_TOKENS", default: m.chunkTokens, range: 16...254)
        m.chunkOverlapTokens = try env.int("MEMORY_CHUNK_OVERLAP", default: m.chunkOverlapTokens, range: 0...127)
        guard m.chunkOverlapTokens * 2 <= m.chunkTokens else {
            throw ConfigurationError("MEMORY_CHUNK_OVERLAP must be at most half of MEMORY_CHUNK_TOKENS")
        }
        if let text = env["MEMORY_CURATED_BOOST"] {
            guard let boost = Double(text), (0...1).contains(boost) else {
                throw ConfigurationError("MEMORY_CURATED_BOOST must be a number from 0 to 1")
            }
            m.curatedBoost = boost
        }
        m.hnswEfSearch = try env.int("MEMORY_HNSW_EF_SEARCH", default: m.hnswEfSearch, range: 10...1000)
        m.curatorIntervalSeconds = Double(try env.int("MEMORY_CURATOR_INTERVAL_SECONDS", default: Int(m.curatorIntervalSeconds),
                                                      range: 0...604_800))
        m.curatorMinChunks = try env.int("MEMORY_CURATOR_MIN_CHUNKS", default: m.curatorMinChunks, range: 2...10_000)
        m.curatorBatchSize = try env.int("MEMORY_CURATOR_BATCH", default: m.curatorBatchSize, range: 2...1000)
        m.curatorModel = env["MEMORY_CURATOR_MODEL"] ?? m.curatorModel
        memory = m
    }
}
