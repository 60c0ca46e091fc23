#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The element-wise and row-wise steps of the encoder, on raw row-major buffers.
enum Kernels {
    /// Sets every row of `matrix[rows×width]` to `bias[width]`.
    static func fillRows(_ matrix: UnsafeMutablePointer<Float>, rows: Int, width: Int, with bias: UnsafePointer<Float>) {
        for row in 0..<rows {
            (matrix + row * width).update(from: bias, count: width)
        }
    }

    /// Adds `bias[width]` to every row of `matrix[rows×width]`.
    static func addToRows(_ matrix: UnsafeMutablePointer<Float>, rows: Int, width: Int, _ bias: UnsafePointer<Float>) {
        for row in 0..<rows {
            let r = matrix + row * width
            for i in 0..<width { r[i] += bias[i] }
        }
    }

    /// In-place layer normalisation of each row: `(x - mean) / sqrt(var + eps) * gamma + beta`
    /// with the biased variance, as `torch.nn.LayerNorm`.
    static func layerNorm(
        _ matrix: UnsafeMutablePointer<Float>, rows: Int, width: Int,
        gamma: UnsafePointer<Float>, beta: UnsafePointer<Float>, epsilon: Float
    ) {
        let scale = 1 / Float(width)
        for row in 0..<rows {
            let r = matrix + row * width
            var sum: Float = 0
            for i in 0..<width { sum += r[i] }
            let mean = sum * scale
            var squares: Float = 0
            for i in 0..<width {
                let d = r[i] - mean
                squares += d * d
            }
            let inverse = 1 / (squares * scale + epsilon).squareRoot()
            for i in 0..<width {
                r[i] = (r[i] - mean) * inverse * gamma[i] + beta[i]
            }
        }
    }

    /// In-place softmax of each row of `matrix[rows×width]`.
    static func softmaxRows(_ matrix: UnsafeMutablePointer<Float>, rows: Int, width: Int) {
        for row in 0..<rows {
            let r = matrix + row * width
            var maximum = -Float.infinity
            for i in 0..<width { maximum = max(maximum, r[i]) }
            var sum: Float = 0
            for i in 0..<width {
                let e = expf(r[i] - maximum)
                r[i] = e
                sum += e
            }
            let inverse = 1 / sum
            for i in 0..<width { r[i] *= inverse }
        }
    }
}
