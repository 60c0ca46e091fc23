#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import Testing
@testable import Embeddings

@Suite("Encoder kernels")
struct KernelsTests {
    @Test("vectorised GELU matches the erf definition within 1e-6")
    func gelu() {
        let inputs = stride(from: Float(-12), through: 12, by: 0.0137).map { $0 } + [0, -0, 1e-8, -1e-8, 40, -40, 1e4, -1e4]
        var values = inputs
        values.withUnsafeMutableBufferPointer { Kernels.gelu($0.baseAddress!, count: $0.count) }
        for (x, y) in zip(inputs, values) {
            let exact = Float(0.5 * Double(x) * (1 + erf(Double(x) / 2.0.squareRoot())))
            #expect(abs(y - exact) <= 1e-6 * max(1, abs(exact)), "gelu(\(x)) = \(y), expected \(exact)")
        }
    }

    @Test("softmax rows sum to one and keep order")
    func softmax() {
        var values: [Float] = [1, 2, 3, -1000, 0, 1000]
        values.withUnsafeMutableBufferPointer { Kernels.softmaxRows($0.baseAddress!, rows: 2, width: 3) }
        #expect(abs(values[0...2].reduce(0, +) - 1) < 1e-6)
        #expect(values[0] < values[1] && values[1] < values[2])
        #expect(values[3...5] == [0, 0, 1])
    }

    @Test("layer norm gives zero mean and unit variance before the affine step")
    func layerNorm() {
        var values: [Float] = [1, 2, 3, 4, 10, 10, 10, 10]
        let gamma: [Float] = [1, 1, 1, 1], beta: [Float] = [0, 0, 0, 0]
        values.withUnsafeMutableBufferPointer { buffer in
            Kernels.layerNorm(buffer.baseAddress!, rows: 2, width: 4, gamma: gamma, beta: beta, epsilon: 1e-12)
        }
        let first = Array(values[0..<4])
        #expect(abs(first.reduce(0, +)) < 1e-6)
        #expect(abs(first.map { $0 * $0 }.reduce(0, +) / 4 - 1) < 1e-5)
        #expect(values[4..<8].allSatisfy { $0 == 0 })
    }
}
