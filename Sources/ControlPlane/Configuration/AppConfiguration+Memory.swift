import AsyncHTTPClient
import Foundation
import Memory
import PersonaCore
import PersonaStorage

extension AppConfiguration {
    mutating func loadMemory(_ env: Environment) throws {
        var m = memory
        if let provider = env["EMBEDDING_PROVIDER"] {
            guard let parsed = MemorySettings.Provider(rawValue: provider.lowercased()) else {
                throw ConfigurationError("EMBEDDING_PROVIDER must be local or openai")
            }
            m.provider = parsed
        }
        if let directory = env["PERSONA_MODELS_DIR"] {
            m.modelsDirectory = directory
        } else {
            let executable = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")
            m.modelsDirectory = MemorySettings.locateModelsDirectory(storagePath: storagePath, executablePath: executable).path
        }
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

extension MemoryEmbedder {
    /// The embedder the configuration names: the local model, or the gateway's
    /// (`LITELLM_PROXY_URL`, `LITELLM_API_KEY`).
    public convenience init(configuration: AppConfiguration, http: HTTPClient) {
        self.init(settings: configuration.memory, gatewayURL: configuration.litellmProxyURL, gatewayKey: configuration.litellmAPIKey,
                  http: http)
    }
}

extension MemoryService {
    /// Document memory as the configuration describes it: uploads under `STORAGE_PATH`, at
    /// most `MAX_FILE_SIZE` bytes each.
    public init(configuration: AppConfiguration, database: Database, embedder: MemoryEmbedder) {
        self.init(settings: configuration.memory,
                  store: DocumentStore(storagePath: configuration.storagePath, maxFileSize: configuration.maxFileSize),
                  database: database, embedder: embedder)
    }
}
