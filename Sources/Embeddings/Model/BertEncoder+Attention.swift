extension BertEncoder {
    /// Multi-head self-attention of every sequence: reads `qkv`, writes `context`.
    /// The (sequence, head) pairs are shared out over the threads by their cost, so one
    /// long sequence still uses every thread.
    func attention(_ w: Workspace) {
        let c = configuration
        let items = w.spans.flatMap { span in (0..<c.headCount).map { (span: span, head: $0) } }
        let costs = items.map { $0.span.count * ($0.span.count + 2 * c.headSize) }
        parallelism.forEachBalancedRange(costs: costs) { part, group in
            let scores = w.scores + part * w.longest * w.longest
            for item in items[group] {
                attend(item.span, head: item.head, scores: scores, w)
            }
        }
    }

    /// One head of one sequence; `scores` has room for an `[n × n]` matrix.
    /// No mask: a packed sequence has no padding.
    private func attend(_ span: Range<Int>, head: Int, scores: UnsafeMutablePointer<Float>, _ w: Workspace) {
        let c = configuration
        let h = c.hiddenSize, d = c.headSize, stride = 3 * h
        let n = span.count
        let q = w.qkv + span.lowerBound * stride + head * d
        let k = q + h
        let v = q + 2 * h
        BLAS.gemmTransposedB(m: n, n: n, k: d, alpha: 1 / Float(d).squareRoot(), a: q, lda: stride, b: k, ldb: stride,
                             beta: 0, c: scores, ldc: n)
        Kernels.softmaxRows(scores, rows: n, width: n)
        BLAS.gemm(m: n, n: d, k: n, a: scores, lda: n, b: v, ldb: stride,
                  beta: 0, c: w.context + span.lowerBound * h + head * d, ldc: h)
    }
}
