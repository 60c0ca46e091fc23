import AsyncHTTPClient
import Embeddings
import Foundation
import NIOPosix
import Synchronization
import Tokenizer

/// The embedder memory uses, built on first use (loading the local model costs a fraction
/// of a second and ~90 MB, which a control plane that never touches memory should not pay),
/// behind an embedding cache, plus the WordPiece tokenizer chunking counts tokens with.
public final class MemoryEmbedder: Sendable {
    private struct Loaded: Sendable {
        package var embedder: any Embedder
        package var tokenizer: WordPieceTokenizer
    }

    private let settings: MemorySettings
    private let gatewayURL: String
    private let gatewayKey: String?
    private let http: HTTPClient
    private let cache: EmbeddingCache
    private let loaded = Mutex<Loaded?>(nil)

    /// - Parameters:
    ///   - settings: the provider, model and cache settings.
    ///   - gatewayURL: the OpenAI-compatible gateway (`LITELLM_PROXY_URL`), for the `openai` provider.
    ///   - gatewayKey: its bearer key (`LITELLM_API_KEY`).
    ///   - http: the shared HTTP client.
    package init(settings: MemorySettings, gatewayURL: String, gatewayKey: String?, http: HTTPClient) {
        self.settings = settings
        self.gatewayURL = gatewayURL.hasSuffix("/") ? String(gatewayURL.dropLast()) : gatewayURL
        self.gatewayKey = gatewayKey
        self.http = http
        self.cache = EmbeddingCache(capacity: settings.cacheCapacity)
    }

    private var modelDirectory: String { settings.modelsDirectory + "/all-MiniLM-L6-v2" }

    /// ``load()`` on NIO's blocking pool the first time: reading the model takes a while, and a
    /// task blocked that long on Swift's cooperative pool (two threads here) would stall every
    /// other task of the process, a database transaction waiting to commit among them.
    private func loadOffExecutor() async throws -> Loaded {
        if let value = loaded.withLock({ $0 }) { return value }
        return try await NIOThreadPool.singleton.runIfActive { try self.load() }
    }

    private func load() throws -> Loaded {
        try loaded.withLock { slot in
            if let slot { return slot }
            let value: Loaded
            do {
                switch settings.provider {
                case .local:
                    let model = try MiniLMEmbedder(modelDirectory: modelDirectory,
                                                   configuration: .init(threads: settings.localThreads))
                    value = Loaded(embedder: CachedEmbedder(model, cache: cache), tokenizer: model.tokenizer)
                case .openai:
                    let remote = OpenAIEmbedder(baseURL: gatewayURL, apiKey: gatewayKey, model: settings.remoteModel,
                                                dimension: settings.remoteDimensions, http: http)
                    value = Loaded(embedder: CachedEmbedder(remote, cache: cache),
                                   tokenizer: try WordPieceTokenizer(vocabularyPath: modelDirectory + "/vocab.txt"))
                }
            } catch let error as EmbeddingsError where error.code == .modelNotFound {
                throw EmbeddingsError(.modelNotFound, "the embedding model is missing under \(settings.modelsDirectory): run scripts/fetch-models (or set PERSONA_MODELS_DIR)")
            }
            slot = value
            return value
        }
    }

    /// The model id stored with every vector: vectors of other ids are never compared.
    public var modelId: String {
        switch settings.provider {
        case .local: return MiniLMEmbedder.modelId
        case .openai: return OpenAIEmbedder.modelId(model: settings.remoteModel, dimension: settings.remoteDimensions)
        }
    }

    public var dimension: Int { settings.provider == .local ? 384 : settings.remoteDimensions }

    /// The tokenizer chunking uses (the local model's WordPiece vocabulary).
    package func tokenizer() async throws -> WordPieceTokenizer { try await loadOffExecutor().tokenizer }

    /// One vector per text, in order.
    public func embed(_ texts: [String]) async throws -> [[Float]] {
        let embedder = try await loadOffExecutor().embedder
        let vectors = try await embedder.embed(texts)
        guard vectors.count == texts.count, vectors.allSatisfy({ $0.count == dimension }) else {
            throw EmbeddingsError(.backendFailure, "the embedder returned vectors of the wrong shape")
        }
        return vectors
    }
}
