import Dispatch

/// Runs the encoder's row-wise steps (layer norm, GELU, bias fills, attention) on the same
/// number of threads as OpenBLAS, so they do not stay serial between parallel GEMMs.
struct Parallelism: Sendable {
    let threads: Int

    /// Calls `body` with disjoint ranges covering `0..<count`, concurrently when there are
    /// several threads and at least `grain` items per thread.
    func forEachRange(_ count: Int, grain: Int = 64, _ body: (Range<Int>) -> Void) {
        let parts = min(threads, count / max(1, grain))
        guard parts > 1 else {
            body(0..<count)
            return
        }
        withoutActuallyEscaping(body) { body in
            let task = UncheckedSendable(body)
            DispatchQueue.concurrentPerform(iterations: parts) { part in
                task.value((count * part / parts)..<(count * (part + 1) / parts))
            }
        }
    }

    /// Calls `body(part, range)` for `parts` contiguous ranges of `costs` indices with
    /// about equal total cost, concurrently.
    func forEachBalancedRange(costs: [Int], _ body: (Int, Range<Int>) -> Void) {
        let parts = min(threads, costs.count)
        guard parts > 1 else {
            body(0, 0..<costs.count)
            return
        }
        let total = costs.reduce(0, +)
        var bounds = [0]
        var running = 0
        for (index, cost) in costs.enumerated() where bounds.count < parts {
            running += cost
            if running * parts >= total * bounds.count { bounds.append(index + 1) }
        }
        while bounds.count <= parts { bounds.append(costs.count) }
        bounds[parts] = costs.count
        let ranges = (0..<parts).map { bounds[$0]..<bounds[$0 + 1] }
        withoutActuallyEscaping(body) { body in
            let task = UncheckedSendable(body)
            DispatchQueue.concurrentPerform(iterations: parts) { part in
                task.value(part, ranges[part])
            }
        }
    }
}

/// Carries a closure over raw buffers into `concurrentPerform`: every call writes a
/// disjoint part of the buffers, which is what makes sharing it safe.
struct UncheckedSendable<Value>: @unchecked Sendable {
    let value: Value
    init(_ value: Value) { self.value = value }
}
