/// A seeded generator of clustered unit vectors (a linear congruential generator): the same
/// seed gives the same vectors everywhere, so the retrieval benchmark and the vector-search
/// tests work on many realistic vectors without a model.
public struct SeededVectors: Sendable {
    public var state: UInt64

    public init(state: UInt64) {
        self.state = state
    }

    /// The next value, uniform in [-1, 1].
    public mutating func next() -> Float {
        state = state &* 6364136223846793005 &+ 1442695040888963407
        return Float(Int64(bitPattern: state >> 11) % 2_000_001 - 1_000_000) / 1_000_000
    }

    /// A random unit vector.
    public mutating func unit(_ dimension: Int = 384) -> [Float] { normalize((0..<dimension).map { _ in next() }) }

    /// A unit vector near `center` (`spread` scales the noise added to it).
    public mutating func near(_ center: [Float], spread: Float) -> [Float] { normalize(center.map { $0 + spread * next() }) }

    /// `v / ‖v‖`.
    public func normalize(_ v: [Float]) -> [Float] {
        let norm = v.reduce(0) { $0 + $1 * $1 }.squareRoot()
        return v.map { $0 / norm }
    }
}
