@testable import PersonaCore
import Testing

@Suite("Vector matrix")
struct VectorMatrixTests {
    private func close(_ a: some Collection<Float>, _ b: [Float]) -> Bool {
        a.count == b.count && zip(a, b).allSatisfy { abs($0 - $1) < 1e-6 }
    }

    @Test("rows are stored normalized; upsert replaces; remove moves the last row into the gap")
    func upsertRemove() {
        var matrix = VectorMatrix(dimension: 3)
        matrix.upsert(id: "a", vector: [3, 0, 4], curated: false)
        matrix.upsert(id: "b", vector: [0, 2, 0], curated: true)
        matrix.upsert(id: "c", vector: [0, 0, 5], curated: false)
        #expect(matrix.count == 3)
        #expect(close(matrix.values[0..<3], [0.6, 0, 0.8]))
        matrix.upsert(id: "a", vector: [1, 0, 0], curated: true)
        #expect(matrix.count == 3 && matrix.values[0..<3] == [1, 0, 0] && matrix.curated[0])
        matrix.remove(id: "a")
        #expect(matrix.ids == ["c", "b"])
        #expect(matrix.values == [0, 0, 1, 0, 1, 0])
        #expect(matrix.curated == [false, true])
        matrix.upsert(id: "b", vector: [1, 2], curated: true)  // another dimension: the row goes
        #expect(matrix.ids == ["c"])
    }

    @Test("dot products of unit rows with a unit query are cosine similarities, over more than eight lanes")
    func dotProducts() {
        var matrix = VectorMatrix(dimension: 11)
        let x = (0..<11).map { Float($0 + 1) }
        matrix.upsert(id: "same", vector: x, curated: false)
        matrix.upsert(id: "opposite", vector: x.map { -$0 }, curated: false)
        let scores = matrix.dotProducts(VectorMatrix.normalized(x))
        #expect(abs(scores[0] - 1) < 1e-5)
        #expect(abs(scores[1] + 1) < 1e-5)
    }

    @Test("normalizing follows torch: unit length, zeros stay zeros")
    func normalized() {
        let unit = VectorMatrix.normalized([1, 2, 2])
        #expect(close(unit, [1.0 / 3, 2.0 / 3, 2.0 / 3]))
        #expect(VectorMatrix.normalized([0, 0, 0]) == [0, 0, 0])
    }
}
