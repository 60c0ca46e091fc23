import Synchronization

/// Runs concurrent reads of one kind as batches: one statement answers many callers (the
/// "data loader" pattern, or group commit for reads).
///
/// A caller that finds fewer than `maxInFlight` batches running runs its own input at once, so
/// an idle server adds no wait. While `maxInFlight` batches are running, callers queue; when a
/// batch ends, its leader hands the queue (up to `maxBatch` callers) to the first queued caller,
/// which runs it as the next batch. Every batch is a fresh query issued after each of its callers
/// arrived, so no caller ever sees data older than its own request.
///
/// On PostgreSQL most of a small query's cost is per statement (a pool lease, bind/execute,
/// a row stream, the hops between threads, the server's own executor start-up): a batch of 16
/// persona pages costs PostgreSQL about as much as 8 single pages (pgbench, docs/BENCHMARKS.md).
package final class QueryCoalescer<Input: Sendable, Output: Sendable>: Sendable {
    /// Answers a batch: one output per input, in the inputs' order.
    package typealias Batch = @Sendable ([Input]) async throws -> [Output]

    private enum Wake: Sendable {
        case answered(Result<Output, any Error>)
        /// Run these callers (the woken caller first) as the next batch.
        case lead([Waiter])
    }

    private struct Waiter: Sendable {
        let input: Input
        let continuation: CheckedContinuation<Wake, Never>
    }

    private struct State: Sendable {
        /// Callers waiting for a batch. Non-empty only while `running == maxInFlight`.
        var queue: [Waiter] = []
        var running = 0
        var statistics = Statistics()
    }

    /// What the coalescer has done so far, and what waits now.
    package struct Statistics: Sendable, Equatable {
        package var batches = 0
        package var callers = 0
        package var largestBatch = 0
        package var queued = 0

        package init(batches: Int = 0, callers: Int = 0, largestBatch: Int = 0, queued: Int = 0) {
            (self.batches, self.callers, self.largestBatch, self.queued) = (batches, callers, largestBatch, queued)
        }
    }

    package var statistics: Statistics {
        state.withLock { state in
            var statistics = state.statistics
            statistics.queued = state.queue.count
            return statistics
        }
    }

    private let state = Mutex(State())
    private let maxInFlight: Int
    private let maxBatch: Int
    private let batch: Batch

    package init(maxInFlight: Int, maxBatch: Int, batch: @escaping Batch) {
        precondition(maxInFlight > 0 && maxBatch > 0)
        (self.maxInFlight, self.maxBatch, self.batch) = (maxInFlight, maxBatch, batch)
    }

    /// The output for `input`, from a batch that started after this call did.
    package func load(_ input: Input) async throws -> Output {
        let wake = await withCheckedContinuation { (continuation: CheckedContinuation<Wake, Never>) in
            let me = Waiter(input: input, continuation: continuation)
            let start = state.withLock { state -> Bool in
                guard state.running < maxInFlight else {
                    state.queue.append(me)
                    return false
                }
                state.running += 1
                return true
            }
            // Resumed before the await completes, the task goes on without suspending.
            if start { continuation.resume(returning: .lead([me])) }
        }
        switch wake {
        case .answered(let result):
            return try result.get()
        case .lead(let waiters):
            return try await lead(waiters)
        }
    }

    /// Runs one batch (this caller is `waiters[0]`), answers the others, hands on the queue.
    private func lead(_ waiters: [Waiter]) async throws -> Output {
        state.withLock { state in
            state.statistics.batches += 1
            state.statistics.callers += waiters.count
            state.statistics.largestBatch = max(state.statistics.largestBatch, waiters.count)
        }
        let result: Result<[Output], any Error>
        do {
            let outputs = try await batch(waiters.map(\.input))
            guard outputs.count == waiters.count else {
                throw StorageError(.failed, "a batch of \(waiters.count) reads answered \(outputs.count)")
            }
            result = .success(outputs)
        } catch {
            if Task.isCancelled, waiters.count > 1 {
                // This caller's cancellation must not fail the others: the next of them runs
                // their batch again, in this batch's place.
                waiters[1].continuation.resume(returning: .lead(Array(waiters.dropFirst())))
                throw error
            }
            result = .failure(error)
        }
        let next = state.withLock { state -> [Waiter] in
            guard !state.queue.isEmpty else {
                state.running -= 1
                return []
            }
            let taken = Array(state.queue.prefix(maxBatch))
            state.queue.removeFirst(taken.count)
            return taken
        }
        if let first = next.first { first.continuation.resume(returning: .lead(next)) }
        for (index, waiter) in waiters.enumerated().dropFirst() {
            waiter.continuation.resume(returning: .answered(result.map { $0[index] }))
        }
        return try result.get()[0]
    }
}
