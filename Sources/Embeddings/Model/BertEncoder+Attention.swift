extension BertEncoder {
    /// Multi-head self-attention of every sequence: reads `qkv`, writes `context`.
    /// Sequences are shared out over the threads by their attention cost.
    func attention(_ w: Workspace) {
        let d = configuration.headSize
        let costs = w.spans.map { $0.count * ($0.count + 2 * d) }
        parallelism.forEachBalancedRange(costs: costs) { part, group in
            let scores = w.scores + part * w.longest * w.longest
            for span in w.spans[group] {
                attend(span, scores: scores, w)
            }
        }
    }

    /// Attention of one sequence, all heads; `scores` has room for one `[n × n]` matrix.
    /// No mask: a packed sequence has no padding.
    private func attend(_ span: Range<Int>, scores: UnsafeMutablePointer<Float>, _ w: Workspace) {
        let c = configuration
        let h = c.hiddenSize, d = c.headSize, stride = 3 * h
        let scale = 1 / Float(d).squareRoot()
        let n = span.count
        let rows = w.qkv + span.lowerBound * stride
        for head in 0..<c.headCount {
            let q = rows + head * d
            let k = rows + h + head * d
            let v = rows + 2 * h + head * d
            BLAS.gemmTransposedB(m: n, n: n, k: d, alpha: scale, a: q, lda: stride, b: k, ldb: stride,
                                 beta: 0, c: scores, ldc: n)
            Kernels.softmaxRows(scores, rows: n, width: n)
            BLAS.gemm(m: n, n: d, k: n, a: scores, lda: n, b: v, ldb: stride,
                      beta: 0, c: w.context + span.lowerBound * h + head * d, ldc: h)
        }
    }
}
