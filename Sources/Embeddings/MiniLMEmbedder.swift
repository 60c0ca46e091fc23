import Dispatch
import PersonaCore
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Tokenizer

/// The local all-MiniLM-L6-v2 sentence embedder: WordPiece tokenization, a 6-layer BERT
/// encoder on OpenBLAS, mean pooling and L2 normalisation (384 dimensions).
///
/// Loads `model.safetensors` (memory-mapped) and `vocab.txt` from a model directory, as
/// installed by `scripts/fetch-models`. Computation runs on a private serial queue, off
/// Swift's cooperative thread pool; concurrent `embed` calls are served one after another.
public final class MiniLMEmbedder: Embedder {
    /// Tuning knobs for ``MiniLMEmbedder``.
    public struct Configuration: Sendable {
        /// Threads one `embed` call computes on; `nil` means all active processors.
        /// (Creating an embedder sets OpenBLAS, process-wide, to one thread per call: the
        /// encoder splits the work itself.)
        public var threads: Int?
        /// Longest token sequence, `[CLS]` and `[SEP]` included; longer texts are truncated.
        public var maxSequenceLength: Int
        /// Texts are packed into forward passes of at most about this many tokens, which
        /// bounds scratch memory (about 14 KB per token).
        public var maxBatchTokens: Int

        /// Creates a configuration.
        /// - Parameters:
        ///   - threads: compute threads, `nil` for all active processors.
        ///   - maxSequenceLength: 2...512, 256 as the model was trained.
        ///   - maxBatchTokens: tokens per forward pass, at least `maxSequenceLength`.
        public init(threads: Int? = nil, maxSequenceLength: Int = 256, maxBatchTokens: Int = 2048) {
            self.threads = threads
            self.maxSequenceLength = maxSequenceLength
            self.maxBatchTokens = maxBatchTokens
        }
    }

    /// The model's name as used by sentence-transformers.
    public static let modelId = "sentence-transformers/all-MiniLM-L6-v2"
    public var modelId: String { Self.modelId }
    /// 384.
    public let dimension: Int
    /// The tokenizer of this model, reusable for token-aware chunking.
    public let tokenizer: WordPieceTokenizer
    /// The configuration in effect.
    public let configuration: Configuration
    let encoder: BertEncoder
    private let queue = DispatchQueue(label: "persona.embeddings.minilm")

    /// Loads the model from `modelDirectory` (containing `model.safetensors` and `vocab.txt`).
    /// - Throws: ``EmbeddingsError`` `.modelNotFound` when a file is missing,
    ///   `.invalidModel` when one is malformed, `.invalidArgument` on a bad configuration.
    public init(modelDirectory: String, configuration: Configuration = Configuration()) throws {
        let bert = BertConfiguration.miniLML6
        guard (2...bert.maxPositions).contains(configuration.maxSequenceLength),
              configuration.maxBatchTokens >= configuration.maxSequenceLength,
              (configuration.threads ?? 1) >= 1
        else {
            throw EmbeddingsError(.invalidArgument, "invalid MiniLMEmbedder configuration \(configuration)")
        }
        let directory = modelDirectory.hasSuffix("/") ? modelDirectory : modelDirectory + "/"
        self.tokenizer = try WordPieceTokenizer(vocabularyPath: directory + "vocab.txt")
        guard tokenizer.vocabularySize == bert.vocabularySize else {
            throw EmbeddingsError(.invalidModel, "vocab.txt has \(tokenizer.vocabularySize) entries, expected \(bert.vocabularySize)")
        }
        let file = try SafeTensorsFile(path: directory + "model.safetensors")
        // The encoder threads by itself (see BertEncoder); OpenBLAS's own threads would only
        // compete with it for the cores.
        BLAS.setThreadCount(1)
        self.encoder = BertEncoder(
            weights: try BertWeights(file: file, configuration: bert),
            parallelism: Parallelism(threads: configuration.threads ?? ProcessInfo.processInfo.activeProcessorCount)
        )
        self.dimension = bert.hiddenSize
        self.configuration = configuration
    }

    /// The BLAS library doing the matrix products, its build options and the CPU kernel
    /// it selected (OPENBLAS_CORETYPE can override that choice), e.g. for benchmark reports.
    public static var computeBackendDescription: String {
        "OpenBLAS (\(BLAS.configuration)), core \(BLAS.coreName), \(BLAS.threadCount) BLAS thread(s) per call"
    }

    /// Embeds `texts`: one L2-normalised 384-float vector per text, in order.
    /// - Throws: `CancellationError` if the task is cancelled before the work starts.
    public func embed(_ texts: [String]) async throws -> [[Float]] {
        try Task.checkCancellation()
        return try await withCheckedThrowingContinuation { continuation in
            queue.async {
                continuation.resume(with: Result { try self.embedSynchronously(texts) })
            }
        }
    }

    /// Embeds `texts` on the calling thread (blocking it for the whole computation).
    func embedSynchronously(_ texts: [String]) throws -> [[Float]] {
        try meanPooled(texts).map(VectorMatrix.normalized)
    }

    /// The pooled vectors before normalisation.
    func meanPooled(_ texts: [String]) throws -> [[Float]] {
        let sequences = texts.map { tokenizer.encode($0, maxLength: configuration.maxSequenceLength) }
        var output: [[Float]] = []
        output.reserveCapacity(texts.count)
        var batch: [[Int]] = []
        var batchTokens = 0
        for sequence in sequences {
            if batchTokens + sequence.count > configuration.maxBatchTokens, !batch.isEmpty {
                output += try encoder.meanPooled(batch)
                batch.removeAll(keepingCapacity: true)
                batchTokens = 0
            }
            batch.append(sequence)
            batchTokens += sequence.count
        }
        output += try encoder.meanPooled(batch)
        return output
    }
}
