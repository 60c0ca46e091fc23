/// The BERT encoder forward pass over a batch packed without padding.
///
/// All tokens of the batch form one `[totalTokens × hidden]` matrix, so each dense layer
/// is a single GEMM whatever the sentence lengths; only attention works per sentence
/// (no padding means no attention mask is needed).
struct BertEncoder: Sendable {
    let weights: BertWeights
    /// Threads for the steps between GEMMs (OpenBLAS threads the GEMMs themselves).
    let parallelism: Parallelism

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
        let workspace = Workspace(sequences: sequences, configuration: c, threads: parallelism.threads)
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
        layerNorm(w.hidden, w, gamma: weights.embeddingNormGamma, beta: weights.embeddingNormBeta)
    }

    private func run(_ layer: BertLayerWeights, _ w: Workspace) {
        let c = configuration
        let h = c.hiddenSize, t = w.tokens, inner = c.intermediateSize

        // Q, K, V for all tokens in one GEMM (bias pre-filled, beta = 1).
        rows(w) { Kernels.fillRows(w.qkv + $0.lowerBound * 3 * h, rows: $0.count, width: 3 * h, with: layer.qkvBias) }
        BLAS.gemmTransposedB(m: t, n: 3 * h, k: h, a: w.hidden, lda: h, b: layer.qkvWeight, ldb: h,
                             beta: 1, c: w.qkv, ldc: 3 * h)
        attention(w)

        // Output projection with the residual folded in: hidden += bias + context · Woᵀ.
        rows(w) { Kernels.addToRows(w.hidden + $0.lowerBound * h, rows: $0.count, width: h, layer.attentionOutputBias) }
        BLAS.gemmTransposedB(m: t, n: h, k: h, a: w.context, lda: h, b: layer.attentionOutputWeight, ldb: h,
                             beta: 1, c: w.hidden, ldc: h)
        layerNorm(w.hidden, w, gamma: layer.attentionNormGamma, beta: layer.attentionNormBeta)

        // Feed-forward: GELU(hidden · Wiᵀ + bi) · Wo2ᵀ + bo2, residual folded in the same way.
        rows(w) { Kernels.fillRows(w.intermediate + $0.lowerBound * inner, rows: $0.count, width: inner, with: layer.intermediateBias) }
        BLAS.gemmTransposedB(m: t, n: inner, k: h, a: w.hidden, lda: h, b: layer.intermediateWeight, ldb: h,
                             beta: 1, c: w.intermediate, ldc: inner)
        rows(w) {
            Kernels.gelu(w.intermediate + $0.lowerBound * inner, count: $0.count * inner)
            Kernels.addToRows(w.hidden + $0.lowerBound * h, rows: $0.count, width: h, layer.outputBias)
        }
        BLAS.gemmTransposedB(m: t, n: h, k: inner, a: w.intermediate, lda: inner, b: layer.outputWeight, ldb: inner,
                             beta: 1, c: w.hidden, ldc: h)
        layerNorm(w.hidden, w, gamma: layer.outputNormGamma, beta: layer.outputNormBeta)
    }

    private func rows(_ w: Workspace, _ body: (Range<Int>) -> Void) {
        parallelism.forEachRange(w.tokens, grain: 32, body)
    }

    private func layerNorm(_ matrix: UnsafeMutablePointer<Float>, _ w: Workspace, gamma: UnsafePointer<Float>, beta: UnsafePointer<Float>) {
        let h = configuration.hiddenSize, epsilon = configuration.layerNormEpsilon
        rows(w) { Kernels.layerNorm(matrix + $0.lowerBound * h, rows: $0.count, width: h, gamma: gamma, beta: beta, epsilon: epsilon) }
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
