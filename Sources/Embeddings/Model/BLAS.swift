import COpenBLAS

/// Thin wrappers over OpenBLAS for row-major single-precision matrices.
enum BLAS {
    /// `C[m×n] = alpha · A[m×k] · Bᵀ + beta · C`, where B is stored `[n×k]` (a PyTorch
    /// linear weight, or the keys of an attention head).
    static func gemmTransposedB(
        m: Int, n: Int, k: Int, alpha: Float = 1,
        a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
        beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int
    ) {
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(m), Int32(n), Int32(k),
                    alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
    }

    /// `C[m×n] = alpha · A[m×k] · B[k×n] + beta · C`.
    static func gemm(
        m: Int, n: Int, k: Int, alpha: Float = 1,
        a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
        beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int
    ) {
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(m), Int32(n), Int32(k),
                    alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
    }

    /// Sets how many threads OpenBLAS uses, process-wide.
    static func setThreadCount(_ count: Int) {
        openblas_set_num_threads(Int32(max(1, count)))
    }

    /// How many threads OpenBLAS uses now.
    static var threadCount: Int { Int(openblas_get_num_threads()) }

    /// OpenBLAS's build configuration string.
    static var configuration: String { String(cString: openblas_get_config()) }

    /// The CPU kernel OpenBLAS picked (e.g. "Haswell", "Zen").
    static var coreName: String { String(cString: openblas_get_corename()) }
}
