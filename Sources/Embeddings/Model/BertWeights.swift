import Tokenizer
/// The tensors of one encoder layer. Linear weights are PyTorch `[out, in]` row-major.
struct BertLayerWeights {
    /// Query, key and value weights stacked into one `[3 * hidden, hidden]` matrix so the
    /// three projections are a single GEMM; `qkvBias` is stacked the same way.
    var qkvWeight: UnsafePointer<Float>
    var qkvBias: UnsafePointer<Float>
    var attentionOutputWeight: UnsafePointer<Float>
    var attentionOutputBias: UnsafePointer<Float>
    var attentionNormGamma: UnsafePointer<Float>
    var attentionNormBeta: UnsafePointer<Float>
    var intermediateWeight: UnsafePointer<Float>
    var intermediateBias: UnsafePointer<Float>
    var outputWeight: UnsafePointer<Float>
    var outputBias: UnsafePointer<Float>
    var outputNormGamma: UnsafePointer<Float>
    var outputNormBeta: UnsafePointer<Float>
}

/// All BERT weights: pointers into the safetensors mapping, plus the fused QKV matrices,
/// which this object owns. Immutable after `init`, so safe to share across threads.
final class BertWeights: @unchecked Sendable {
    let configuration: BertConfiguration
    let wordEmbeddings: UnsafePointer<Float>
    let positionEmbeddings: UnsafePointer<Float>
    let tokenTypeEmbeddings: UnsafePointer<Float>
    let embeddingNormGamma: UnsafePointer<Float>
    let embeddingNormBeta: UnsafePointer<Float>
    let layers: [BertLayerWeights]
    /// Keeps the mapping alive as long as the pointers into it.
    private let file: SafeTensorsFile
    private let fused: [UnsafeMutableBufferPointer<Float>]

    /// Loads and checks every tensor the encoder needs (standard HuggingFace BERT names).
    /// - Throws: ``EmbeddingsError`` `.invalidModel` on a missing or misshaped tensor.
    init(file: SafeTensorsFile, configuration c: BertConfiguration) throws {
        let h = c.hiddenSize
        func load(_ name: String, _ shape: [Int]) throws -> UnsafePointer<Float> {
            try file.floats(name, shape: shape).baseAddress!
        }
        wordEmbeddings = try load("embeddings.word_embeddings.weight", [c.vocabularySize, h])
        positionEmbeddings = try load("embeddings.position_embeddings.weight", [c.maxPositions, h])
        tokenTypeEmbeddings = try load("embeddings.token_type_embeddings.weight", [c.typeVocabularySize, h])
        embeddingNormGamma = try load("embeddings.LayerNorm.weight", [h])
        embeddingNormBeta = try load("embeddings.LayerNorm.bias", [h])

        var layers: [BertLayerWeights] = []
        var fused: [UnsafeMutableBufferPointer<Float>] = []
        defer { if layers.count != c.layerCount { fused.forEach { $0.deallocate() } } }
        for index in 0..<c.layerCount {
            let p = "encoder.layer.\(index)."
            let weight = UnsafeMutableBufferPointer<Float>.allocate(capacity: 3 * h * h)
            let bias = UnsafeMutableBufferPointer<Float>.allocate(capacity: 3 * h)
            fused += [weight, bias]
            for (slot, part) in ["query", "key", "value"].enumerated() {
                let w = try file.floats(p + "attention.self.\(part).weight", shape: [h, h])
                let b = try file.floats(p + "attention.self.\(part).bias", shape: [h])
                _ = UnsafeMutableBufferPointer(rebasing: weight[(slot * h * h)..<((slot + 1) * h * h)]).initialize(from: w)
                _ = UnsafeMutableBufferPointer(rebasing: bias[(slot * h)..<((slot + 1) * h)]).initialize(from: b)
            }
            layers.append(BertLayerWeights(
                qkvWeight: UnsafePointer(weight.baseAddress!),
                qkvBias: UnsafePointer(bias.baseAddress!),
                attentionOutputWeight: try load(p + "attention.output.dense.weight", [h, h]),
                attentionOutputBias: try load(p + "attention.output.dense.bias", [h]),
                attentionNormGamma: try load(p + "attention.output.LayerNorm.weight", [h]),
                attentionNormBeta: try load(p + "attention.output.LayerNorm.bias", [h]),
                intermediateWeight: try load(p + "intermediate.dense.weight", [c.intermediateSize, h]),
                intermediateBias: try load(p + "intermediate.dense.bias", [c.intermediateSize]),
                outputWeight: try load(p + "output.dense.weight", [h, c.intermediateSize]),
                outputBias: try load(p + "output.dense.bias", [h]),
                outputNormGamma: try load(p + "output.LayerNorm.weight", [h]),
                outputNormBeta: try load(p + "output.LayerNorm.bias", [h])
            ))
        }
        self.configuration = c
        self.layers = layers
        self.fused = fused
        self.file = file
    }

    deinit {
        fused.forEach { $0.deallocate() }
    }
}
