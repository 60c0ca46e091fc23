/// The cached vectors of one model as a row-major matrix of unit vectors, searched by brute
/// force (cosine = dot product). 10k chunks of 1536 floats are 60 MiB and a few ms per query;
/// a persona's memory is far below the size where an approximate index pays off.
struct VectorIndex: Sendable {
    /// One ranked chunk.
    struct Hit: Sendable, Hashable {
        var chunkId: String
        /// Cosine similarity to the query.
        var similarity: Float
        /// `similarity`, plus the boost when the chunk is curated.
        var score: Float
    }

    let model: String
    let dimension: Int
    private(set) var ids: [String] = []
    private var curated: [Bool] = []
    private var matrix: [Float] = []
    private var rowOf: [String: Int] = [:]

    init(model: String, dimension: Int) {
        self.model = model
        self.dimension = dimension
    }

    var count: Int { ids.count }

    /// Adds or replaces a chunk's vector; a vector of another dimension is ignored.
    mutating func upsert(id: String, vector: [Float], curated isCurated: Bool) {
        guard vector.count == dimension else {
            remove(id: id)
            return
        }
        let unit = Self.normalized(vector)
        if let row = rowOf[id] {
            matrix.replaceSubrange(row * dimension..<(row + 1) * dimension, with: unit)
            curated[row] = isCurated
            return
        }
        rowOf[id] = ids.count
        ids.append(id)
        curated.append(isCurated)
        matrix.append(contentsOf: unit)
    }

    /// Removes a chunk (the last row moves into its place).
    mutating func remove(id: String) {
        guard let row = rowOf.removeValue(forKey: id) else { return }
        let last = ids.count - 1
        if row != last {
            ids[row] = ids[last]
            curated[row] = curated[last]
            matrix.withUnsafeMutableBufferPointer { m in
                for j in 0..<dimension { m[row * dimension + j] = m[last * dimension + j] }
            }
            rowOf[ids[row]] = row
        }
        ids.removeLast()
        curated.removeLast()
        matrix.removeLast(dimension)
    }

    /// The `limit` best chunks for `query`, best first: ranked by similarity plus
    /// `curatedBoost` for curated chunks, so a curated summary wins a near tie but not against
    /// a clearly better match (ties keep the better raw similarity).
    func nearest(to query: [Float], limit: Int, curatedBoost: Float) -> [Hit] {
        guard query.count == dimension, limit > 0, !ids.isEmpty else { return [] }
        let unit = Self.normalized(query)
        var best: [Hit] = []
        best.reserveCapacity(limit + 1)
        matrix.withUnsafeBufferPointer { rows in
            unit.withUnsafeBufferPointer { q in
                guard let base = rows.baseAddress, let qBase = q.baseAddress else { return }
                for row in 0..<ids.count {
                    let similarity = Self.dot(base + row * dimension, qBase, dimension)
                    if similarity.isNaN { continue }
                    let score = similarity + (curated[row] ? curatedBoost : 0)
                    if best.count == limit, let worst = best.last, (score, similarity) <= (worst.score, worst.similarity) { continue }
                    var position = best.count
                    while position > 0, (best[position - 1].score, best[position - 1].similarity) < (score, similarity) { position -= 1 }
                    best.insert(Hit(chunkId: ids[row], similarity: similarity, score: score), at: position)
                    if best.count > limit { best.removeLast() }
                }
            }
        }
        return best
    }

    /// `a · b` over `count` floats, eight lanes at a time (strict FP ordering keeps the
    /// compiler from vectorising a plain loop).
    private static func dot(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ count: Int) -> Float {
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

    /// `v / ‖v‖` (zeros stay zeros).
    static func normalized(_ vector: [Float]) -> [Float] {
        var squares: Double = 0
        for x in vector { squares += Double(x) * Double(x) }
        guard squares > 0 else { return vector }
        let scale = Float(1 / squares.squareRoot())
        return vector.map { $0 * scale }
    }
}
