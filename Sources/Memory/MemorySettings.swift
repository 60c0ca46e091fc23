import Foundation

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

    /// The local model's folder name under ``modelsDirectory``.
    public static let localModelName = "all-MiniLM-L6-v2"

    /// Whether the local model's weights are under ``modelsDirectory`` (always `true` for the
    /// `openai` provider, whose vectors come from the gateway).
    public var embedderAvailable: Bool {
        provider == .openai
            || FileManager.default.fileExists(atPath: "\(modelsDirectory)/\(Self.localModelName)/model.safetensors")
    }

    /// Where the model is when `PERSONA_MODELS_DIR` is not set, so a control plane started from
    /// any directory finds it: the first of `STORAGE_PATH/models`, a `models` folder beside the
    /// executable or up to four folders above it (a build under `.build/<triple>/release` of the
    /// repository finds the repository's), and `./models` that holds the weights.
    /// - Returns: the folder and whether it holds the model (`./models`, absolute, when none does).
    public static func locateModelsDirectory(storagePath: String, executablePath: String?,
                                             workingDirectory: String = FileManager.default.currentDirectoryPath)
        -> (path: String, found: Bool) {
        func absolute(_ path: String) -> String {
            URL(fileURLWithPath: path, relativeTo: URL(fileURLWithPath: workingDirectory, isDirectory: true)).standardizedFileURL.path
        }
        var candidates = [absolute(storagePath) + "/models"]
        if let executablePath {
            var folder = URL(fileURLWithPath: absolute(executablePath)).deletingLastPathComponent()
            for _ in 0..<5 {
                candidates.append(folder.appendingPathComponent("models").path)
                folder = folder.deletingLastPathComponent()
            }
        }
        candidates.append(absolute("models"))
        for candidate in candidates
        where FileManager.default.fileExists(atPath: "\(candidate)/\(localModelName)/model.safetensors") {
            return (candidate, true)
        }
        return (absolute("models"), false)
    }
}
