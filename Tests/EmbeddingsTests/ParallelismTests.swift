import Synchronization
import Testing
@testable import Embeddings

@Suite("Parallelism")
struct ParallelismTests {
    @Test("row ranges cover every index exactly once", arguments: [0, 1, 63, 64, 65, 1000])
    func rowRanges(count: Int) {
        let seen = Mutex<[Int]>([])
        Parallelism(threads: 2).forEachRange(count, grain: 32) { range in
            seen.withLock { $0 += Array(range) }
        }
        #expect(seen.withLock { $0.sorted() } == Array(0..<count))
    }

    @Test("balanced ranges cover every index once, one part per thread at most")
    func balancedRanges() {
        for costs in [[5], [1, 1, 1, 1], [100, 1, 1, 1], [1, 1, 1, 100], [3, 7, 2, 9, 4, 4, 8], []] {
            for threads in 1...3 {
                let seen = Mutex<[(Int, Range<Int>)]>([])
                Parallelism(threads: threads).forEachBalancedRange(costs: costs) { part, range in
                    seen.withLock { $0.append((part, range)) }
                }
                let parts = seen.withLock { $0 }
                #expect(parts.flatMap { Array($0.1) }.sorted() == Array(costs.indices), "\(costs) on \(threads)")
                #expect(Set(parts.map(\.0)).count == parts.count)
                #expect(parts.allSatisfy { $0.0 < max(1, threads) })
            }
        }
    }
}
