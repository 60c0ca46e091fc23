extension Kernels {
    /// In-place exact-form GELU, `x · ½ · (1 + erf(x / √2))` (HuggingFace's "gelu"),
    /// four lanes at a time.
    ///
    /// erf is Abramowitz & Stegun 7.1.26 (absolute error ≤ 1.5e-7, about one float ulp
    /// of 1), the same approximation PyTorch's vectorised CPU GELU uses; glibc's scalar
    /// `erff` made GELU a third of the whole forward pass.
    static func gelu(_ values: UnsafeMutablePointer<Float>, count: Int) {
        let half = SIMD4<Float>(repeating: 0.5), inverseSqrt2 = SIMD4<Float>(repeating: 0.70710678118654752440)
        var index = 0
        let raw = UnsafeMutableRawPointer(values)
        while index + 4 <= count {
            let x = raw.loadUnaligned(fromByteOffset: index * 4, as: SIMD4<Float>.self)
            raw.storeBytes(of: half * x * (1 + erf(x * inverseSqrt2)), toByteOffset: index * 4, as: SIMD4<Float>.self)
            index += 4
        }
        while index < count {
            let x = SIMD4<Float>(repeating: values[index])
            values[index] = (half * x * (1 + erf(x * inverseSqrt2)))[0]
            index += 1
        }
    }

    /// erf(x) = sign(x) · (1 − t·P(t)·e^(−x²)), t = 1 / (1 + p|x|).
    @inline(__always)
    static func erf(_ x: SIMD4<Float>) -> SIMD4<Float> {
        let signBit = SIMD4<UInt32>(repeating: 0x8000_0000)
        let sign = bits(x) & signBit
        let absolute = float(bits(x) & ~signBit)
        let t = 1 / (1 + 0.3275911 * absolute)
        var polynomial = SIMD4<Float>(repeating: 1.061405429)
        polynomial = polynomial * t + -1.453152027
        polynomial = polynomial * t + 1.421413741
        polynomial = polynomial * t + -0.284496736
        polynomial = polynomial * t + 0.254829592
        let magnitude = 1 - polynomial * t * exp(-(x * x))
        return float(bits(magnitude) | sign)
    }

    /// e^x for x ≤ 0 (Cephes `expf` polynomial, ~1 ulp); arguments below −87 give ~0.
    @inline(__always)
    static func exp(_ argument: SIMD4<Float>) -> SIMD4<Float> {
        let x0 = argument.replacing(with: -87, where: argument .< -87)
        // n = round(x / ln 2) with the 1.5·2²³ trick: the sum's low mantissa bits hold n.
        let magic = SIMD4<Float>(repeating: 12_582_912)
        let shifted = x0 * 1.44269504088896341 + magic
        let n = shifted - magic
        let integer = bits(shifted) &- bits(magic)
        let x = x0 - n * 0.693359375 - n * -2.12194440e-4
        var y = SIMD4<Float>(repeating: 1.9875691500e-4)
        y = y * x + 1.3981999507e-3
        y = y * x + 8.3334519073e-3
        y = y * x + 4.1665795894e-2
        y = y * x + 1.6666665459e-1
        y = y * x + 5.0000001201e-1
        y = y * (x * x) + x + 1
        return y * float((integer &+ 127) &<< 23)
    }

    @inline(__always)
    private static func bits(_ value: SIMD4<Float>) -> SIMD4<UInt32> { unsafeBitCast(value, to: SIMD4<UInt32>.self) }

    @inline(__always)
    private static func float(_ value: SIMD4<UInt32>) -> SIMD4<Float> { unsafeBitCast(value, to: SIMD4<Float>.self) }
}
