/// The BERT encoder forward pass over a batch packed without padding.
///
/// All tokens of the batch form one `[totalTokens × hidden]` matrix, so each dense layer
/// is a single GEMM whatever the sentence lengths; only attention works per sentence
/// (no padding means no attention mask is needed).
struct BertEncoder: Sendable {
    let weights: BertWeights

    var configuration: BertConfiguration { weights.configuration }

    /// Mean-pooled last hidden states (not normalised), one vector per sequence.
    /// - Parameter sequences: token ids including `[CLS]`/`[SEP]`, each non-empty and at
    ///   most `maxPositions` long.
    /// - Throws: ``EmbeddingsError`` `.invalidArgument` on an empty or too long sequence
    ///   or an id outside the vocabulary.
    func meanPooled(_ sequences: [[Int]]) throws -> [[Float]] {
        let c = configuration
        for sequence in sequences {
            guard !sequence.isEmpty, sequence.count <= c.maxPositions else {
                throw EmbeddingsError(.invalidArgument, "sequence length \(sequence.count) is outside 1...\(c.maxPositions)")
            }
            guard sequence.allSatisfy({ (0..<c.vocabularySize).contains($0) }) else {
                throw EmbeddingsError(.invalidArgument, "token id outside the vocabulary")
            }
        }
        guard !sequences.isEmpty else { return [] }
        let workspace = Workspace(sequences: sequences, configuration: c)
        defer { workspace.deallocate() }
        embed(sequences, into: workspace)
        for layer in weights.layers {
            run(layer, workspace)
        }
        return pool(workspace)
    }

    /// Word + position + token-type (always 0) embeddings, then layer norm.
    private func embed(_ sequences: [[Int]], into w: Workspace) {
        let h = configuration.hiddenSize
        var row = 0
        for sequence in sequences {
            for (position, id) in sequence.enumerated() {
                let out = w.hidden + row * h
                let word = weights.wordEmbeddings + id * h
                let pos = weights.positionEmbeddings + position * h
                let type = weights.tokenTypeEmbeddings
                for i in 0..<h { out[i] = word[i] + pos[i] + type[i] }
                row += 1
            }
        }
        Kernels.layerNorm(w.hidden, rows: w.tokens, width: h, gamma: weights.embeddingNormGamma,
                          beta: weights.embeddingNormBeta, epsilon: configuration.layerNormEpsilon)
    }

    private func run(_ layer: BertLayerWeights, _ w: Workspace) {
        let c = configuration
        let h = c.hiddenSize, t = w.tokens, inner = c.intermediateSize

        // Q, K, V for all tokens in one GEMM (bias pre-filled, beta = 1).
        Kernels.fillRows(w.qkv, rows: t, width: 3 * h, with: layer.qkvBias)
        BLAS.gemmTransposedB(m: t, n: 3 * h, k: h, a: w.hidden, lda: h, b: layer.qkvWeight, ldb: h,
                             beta: 1, c: w.qkv, ldc: 3 * h)
        attention(w)

        // Output projection with the residual folded in: hidden += bias + context · Woᵀ.
        Kernels.addToRows(w.hidden, rows: t, width: h, layer.attentionOutputBias)
        BLAS.gemmTransposedB(m: t, n: h, k: h, a: w.context, lda: h, b: layer.attentionOutputWeight, ldb: h,
                             beta: 1, c: w.hidden, ldc: h)
        Kernels.layerNorm(w.hidden, rows: t, width: h, gamma: layer.attentionNormGamma,
                          beta: layer.attentionNormBeta, epsilon: c.layerNormEpsilon)

        // Feed-forward: GELU(hidden · Wiᵀ + bi) · Wo2ᵀ + bo2, residual folded in the same way.
        Kernels.fillRows(w.intermediate, rows: t, width: inner, with: layer.intermediateBias)
        BLAS.gemmTransposedB(m: t, n: inner, k: h, a: w.hidden, lda: h, b: layer.intermediateWeight, ldb: h,
                             beta: 1, c: w.intermediate, ldc: inner)
        Kernels.gelu(w.intermediate, count: t * inner)
        Kernels.addToRows(w.hidden, rows: t, width: h, layer.outputBias)
        BLAS.gemmTransposedB(m: t, n: h, k: inner, a: w.intermediate, lda: inner, b: layer.outputWeight, ldb: inner,
                             beta: 1, c: w.hidden, ldc: h)
        Kernels.layerNorm(w.hidden, rows: t, width: h, gamma: layer.outputNormGamma,
                          beta: layer.outputNormBeta, epsilon: c.layerNormEpsilon)
    }

    /// Mean over each sequence's tokens (every token is real: there is no padding).
    private func pool(_ w: Workspace) -> [[Float]] {
        let h = configuration.hiddenSize
        return w.spans.map { span in
            var sum = [Double](repeating: 0, count: h)
            for row in span {
                let r = w.hidden + row * h
                for i in 0..<h { sum[i] += Double(r[i]) }
            }
            let scale = 1 / Double(span.count)
            return sum.map { Float($0 * scale) }
        }
    }
}
