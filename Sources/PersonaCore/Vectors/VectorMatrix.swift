/// Unit vectors of one dimension as a row-major matrix with an id per row, for exact
/// nearest-neighbour search by brute force (cosine similarity = dot product). The control
/// plane's SQLite backend scores it with BLAS; the supervisor's cache with ``dotProducts(_:)``.
/// A persona's memory (thousands of chunks) is far below the size where an approximate index
/// pays off.
public struct VectorMatrix: Sendable {
    public let dimension: Int
    /// Row `i`'s chunk id.
    public private(set) var ids: [String] = []
    /// Row `i`'s curated flag.
    public private(set) var curated: [Bool] = []
    /// `count × dimension` floats, row-major, each row of unit length (or all zeros).
    public private(set) var values: [Float] = []
    private var rowOf: [String: Int] = [:]

    public init(dimension: Int) {
        self.dimension = dimension
    }

    public var count: Int { ids.count }

    public mutating func reserveCapacity(_ rows: Int) {
        ids.reserveCapacity(rows)
        curated.reserveCapacity(rows)
        values.reserveCapacity(rows * dimension)
    }

    /// Adds or replaces `id`'s row with `vector` normalized; a vector of another dimension
    /// removes the row instead (it can no longer be compared).
    public mutating func upsert(id: String, vector: [Float], curated isCurated: Bool) {
        guard vector.count == dimension else {
            remove(id: id)
            return
        }
        let unit = Self.normalized(vector)
        if let row = rowOf[id] {
            values.replaceSubrange(row * dimension..<(row + 1) * dimension, with: unit)
            curated[row] = isCurated
            return
        }
        rowOf[id] = ids.count
        ids.append(id)
        curated.append(isCurated)
        values.append(contentsOf: unit)
    }

    /// Removes `id`'s row (the last row moves into its place).
    public mutating func remove(id: String) {
        guard let row = rowOf.removeValue(forKey: id) else { return }
        let last = ids.count - 1
        if row != last {
            ids[row] = ids[last]
            curated[row] = curated[last]
            values.withUnsafeMutableBufferPointer { m in
                for j in 0..<dimension { m[row * dimension + j] = m[last * dimension + j] }
            }
            rowOf[ids[row]] = row
        }
        ids.removeLast()
        curated.removeLast()
        values.removeLast(dimension)
    }

    /// Every row's dot product with `unitQuery` (a vector of ``dimension``, normalized by
    /// the caller), eight lanes at a time.
    public func dotProducts(_ unitQuery: [Float]) -> [Float] {
        precondition(unitQuery.count == dimension, "query of dimension \(unitQuery.count), matrix of \(dimension)")
        var scores = [Float](repeating: 0, count: count)
        values.withUnsafeBufferPointer { rows in
            unitQuery.withUnsafeBufferPointer { q in
                guard let base = rows.baseAddress, let qBase = q.baseAddress else { return }
                for row in 0..<count { scores[row] = Self.dot(base + row * dimension, qBase, dimension) }
            }
        }
        return scores
    }

    /// `a · b` over `count` floats, eight lanes at a time (strict FP ordering keeps the
    /// compiler from vectorising a plain loop).
    public static func dot(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ count: Int) -> Float {
        var lanes = SIMD8<Float>()
        var index = 0
        let rawA = UnsafeRawPointer(a)
        let rawB = UnsafeRawPointer(b)
        while index + 8 <= count {
            let offset = index * MemoryLayout<Float>.stride
            lanes += rawA.loadUnaligned(fromByteOffset: offset, as: SIMD8<Float>.self)
                * rawB.loadUnaligned(fromByteOffset: offset, as: SIMD8<Float>.self)
            index += 8
        }
        var sum = lanes.sum()
        while index < count {
            sum += a[index] * b[index]
            index += 1
        }
        return sum
    }

    /// `v / max(‖v‖, 1e-12)`, as `torch.nn.functional.normalize` (zeros stay zeros).
    public static func normalized(_ vector: [Float]) -> [Float] {
        var squares: Double = 0
        for x in vector { squares += Double(x) * Double(x) }
        let scale = Float(1 / max(squares.squareRoot(), 1e-12))
        return vector.map { $0 * scale }
    }
}
