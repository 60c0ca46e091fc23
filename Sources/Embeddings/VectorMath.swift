import COpenBLAS

/// Dense-vector helpers for exact nearest-neighbour search over an in-memory matrix.
public enum VectorMath {
    /// `scores[i] = matrix[i] · query` for a row-major `rows × dimension` matrix (BLAS sgemv):
    /// cosine similarities when rows and query are unit vectors.
    public static func dotProducts(matrix: UnsafeBufferPointer<Float>, rows: Int, dimension: Int,
                                   query: UnsafeBufferPointer<Float>, scores: UnsafeMutableBufferPointer<Float>) {
        precondition(matrix.count >= rows * dimension && query.count == dimension && scores.count >= rows)
        guard rows > 0, let a = matrix.baseAddress, let x = query.baseAddress, let y = scores.baseAddress else { return }
        cblas_sgemv(CblasRowMajor, CblasNoTrans, Int32(rows), Int32(dimension), 1, a, Int32(dimension), x, 1, 0, y, 1)
    }

    /// The indices of the `k` largest `scores` among those `include` admits, best first.
    public static func topK(_ scores: UnsafeBufferPointer<Float>, k: Int, include: (Int) -> Bool) -> [(index: Int, score: Float)] {
        guard k > 0 else { return [] }
        var best: [(index: Int, score: Float)] = []
        best.reserveCapacity(k + 1)
        var floor = -Float.infinity
        for (index, score) in scores.enumerated() where (best.count < k || score > floor) && include(index) {
            var position = best.count
            while position > 0, best[position - 1].score < score { position -= 1 }
            best.insert((index, score), at: position)
            if best.count > k { best.removeLast() }
            if best.count == k { floor = best[k - 1].score }
        }
        return best
    }
}
