extension BertEncoder {
    /// Multi-head self-attention of every sequence: reads `qkv`, writes `context`.
    func attention(_ w: Workspace) {
        let c = configuration
        let h = c.hiddenSize, d = c.headSize, stride = 3 * h
        let scale = 1 / Float(d).squareRoot()
        for span in w.spans {
            let n = span.count
            let rows = w.qkv + span.lowerBound * stride
            for head in 0..<c.headCount {
                let q = rows + head * d
                let k = rows + h + head * d
                let v = rows + 2 * h + head * d
                BLAS.gemmTransposedB(m: n, n: n, k: d, alpha: scale, a: q, lda: stride, b: k, ldb: stride,
                                     beta: 0, c: w.scores, ldc: n)
                Kernels.softmaxRows(w.scores, rows: n, width: n)
                BLAS.gemm(m: n, n: d, k: n, a: w.scores, lda: n, b: v, ldb: stride,
                          beta: 0, c: w.context + span.lowerBound * h + head * d, ldc: h)
            }
        }
    }
}
