import Tokenizer
/// The BERT encoder forward pass over a batch packed without padding.
///
/// All tokens of the batch form one `[totalTokens × hidden]` matrix, so each dense layer
/// is one GEMM whatever the sentence lengths; only attention works per sentence (no
/// padding means no attention mask is needed).
///
/// Threading: everything but attention is row-local, so with N threads the token rows are
/// cut into N blocks and each thread runs the whole post-attention chain (GEMMs with
/// single-threaded OpenBLAS, layer norms, GELU) on its block; attention is shared out by
/// (sentence, head): three parallel regions per layer and no serial step. (With OpenBLAS
/// threading the GEMMs instead, the row-wise steps measured no faster on two threads,
/// next to OpenBLAS workers that spin-wait between calls.)
struct BertEncoder: Sendable {
    let weights: BertWeights
    /// Threads for the forward pass (OpenBLAS itself is kept at one thread).
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
        let h = c.hiddenSize, inner = c.intermediateSize

        // Q, K, V of a block of rows in one GEMM (bias pre-filled, beta = 1).
        rows(w) { block in
            let qkv = w.qkv + block.lowerBound * 3 * h
            Kernels.fillRows(qkv, rows: block.count, width: 3 * h, with: layer.qkvBias)
            BLAS.gemmTransposedB(m: block.count, n: 3 * h, k: h, a: w.hidden + block.lowerBound * h, lda: h,
                                 b: layer.qkvWeight, ldb: h, beta: 1, c: qkv, ldc: 3 * h)
        }
        attention(w)
        rows(w) { block in
            let m = block.count
            let hidden = w.hidden + block.lowerBound * h
            let intermediate = w.intermediate + block.lowerBound * inner
            // Output projection with the residual folded in: hidden += bias + context · Woᵀ.
            Kernels.addToRows(hidden, rows: m, width: h, layer.attentionOutputBias)
            BLAS.gemmTransposedB(m: m, n: h, k: h, a: w.context + block.lowerBound * h, lda: h,
                                 b: layer.attentionOutputWeight, ldb: h, beta: 1, c: hidden, ldc: h)
            Kernels.layerNorm(hidden, rows: m, width: h, gamma: layer.attentionNormGamma,
                              beta: layer.attentionNormBeta, epsilon: c.layerNormEpsilon)
            // Feed-forward: GELU(hidden · Wiᵀ + bi) · Wo2ᵀ + bo2, residual folded in the same way.
            Kernels.fillRows(intermediate, rows: m, width: inner, with: layer.intermediateBias)
            BLAS.gemmTransposedB(m: m, n: inner, k: h, a: hidden, lda: h, b: layer.intermediateWeight, ldb: h,
                                 beta: 1, c: intermediate, ldc: inner)
            Kernels.gelu(intermediate, count: m * inner)
            Kernels.addToRows(hidden, rows: m, width: h, layer.outputBias)
            BLAS.gemmTransposedB(m: m, n: h, k: inner, a: intermediate, lda: inner, b: layer.outputWeight, ldb: inner,
                                 beta: 1, c: hidden, ldc: h)
            Kernels.layerNorm(hidden, rows: m, width: h, gamma: layer.outputNormGamma,
                              beta: layer.outputNormBeta, epsilon: c.layerNormEpsilon)
        }
    }

    /// Splits the token rows into one block per thread (fewer for small batches).
    private func rows(_ w: Workspace, _ body: (Range<Int>) -> Void) {
        parallelism.forEachRange(w.tokens, grain: 16, body)
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
