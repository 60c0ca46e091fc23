@testable import ControlPlane
import Foundation
import Synchronization
import Testing
import PersonaStorage
import PersonaCore

/// A door a batch waits at until the test opens it.
private actor Gate {
    private var open = false
    private var waiting: [CheckedContinuation<Void, Never>] = []

    func wait() async {
        if open { return }
        await withCheckedContinuation { waiting.append($0) }
    }

    func release() {
        open = true
        for continuation in waiting { continuation.resume() }
        waiting = []
    }
}

/// Polls `condition` until it holds (a functional deadline of 30 s, not a latency check).
private func eventually(_ what: String, _ condition: @Sendable () -> Bool) async throws {
    let deadline = ContinuousClock.now + .seconds(30)
    while !condition() {
        guard ContinuousClock.now < deadline else { throw CoalescerTestError(what) }
        try await Task.sleep(for: .milliseconds(2))
    }
}

private func outcome(_ body: () async throws -> Int) async -> Result<Int, any Error> {
    do { return .success(try await body()) } catch { return .failure(error) }
}

private struct CoalescerTestError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// A coalescer of `Int -> Int` reads whose batches multiply by ten, record their inputs, and
/// wait at `gates[first input]` when the test set one.
private final class Recorder: Sendable {
    private final class Calls: Sendable {
        let inputs = Mutex<[[Int]]>([])
    }

    private let calls: Calls
    let coalescer: QueryCoalescer<Int, Int>

    init(maxInFlight: Int = 1, maxBatch: Int = 16, gates: [Int: Gate] = [:],
         answer: @escaping @Sendable ([Int]) throws -> [Int] = { $0.map { $0 * 10 } }) {
        let calls = Calls()
        self.calls = calls
        coalescer = QueryCoalescer(maxInFlight: maxInFlight, maxBatch: maxBatch) { inputs in
            calls.inputs.withLock { $0.append(inputs) }
            if let first = inputs.first, let gate = gates[first] { await gate.wait() }
            try Task.checkCancellation()
            return try answer(inputs)
        }
    }

    var batches: [[Int]] { calls.inputs.withLock { $0 } }
}

@Suite("Query coalescer")
struct QueryCoalescerTests {
    @Test("an idle caller's read runs at once, alone")
    func idleRunsAlone() async throws {
        let recorder = Recorder()
        #expect(try await recorder.coalescer.load(1) == 10)
        #expect(try await recorder.coalescer.load(2) == 20)
        #expect(recorder.batches == [[1], [2]])
        #expect(recorder.coalescer.statistics == .init(batches: 2, callers: 2, largestBatch: 1, queued: 0))
    }

    @Test("callers that arrive while a batch runs share the next batch, and each gets its own answer")
    func queuedCallersShareABatch() async throws {
        let gate = Gate()
        let recorder = Recorder(gates: [0: gate])
        try await withThrowingTaskGroup(of: (Int, Int).self) { group in
            group.addTask { (0, try await recorder.coalescer.load(0)) }
            try await eventually("the first batch starts") { recorder.batches.count == 1 }
            for input in 1...10 { group.addTask { (input, try await recorder.coalescer.load(input)) } }
            try await eventually("ten callers queue") { recorder.coalescer.statistics.queued == 10 }
            await gate.release()
            var answers: [Int: Int] = [:]
            for try await (input, output) in group { answers[input] = output }
            #expect(answers == Dictionary(uniqueKeysWithValues: (0...10).map { ($0, $0 * 10) }))
        }
        #expect(recorder.batches.count == 2)
        #expect(Set(recorder.batches.last ?? []) == Set(1...10))
        #expect(recorder.coalescer.statistics == .init(batches: 2, callers: 11, largestBatch: 10, queued: 0))
    }

    @Test("a batch takes at most maxBatch callers; the rest go in the batches after it")
    func maxBatchIsHeld() async throws {
        let gate = Gate()
        let recorder = Recorder(maxBatch: 4, gates: [0: gate])
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { _ = try await recorder.coalescer.load(0) }
            try await eventually("the first batch starts") { recorder.batches.count == 1 }
            for input in 1...10 { group.addTask { let output = try await recorder.coalescer.load(input); #expect(output == input * 10) } }
            try await eventually("ten callers queue") { recorder.coalescer.statistics.queued == 10 }
            await gate.release()
            try await group.waitForAll()
        }
        #expect(recorder.batches.dropFirst().map(\.count) == [4, 4, 2])
        #expect(Set(recorder.batches.dropFirst().joined()) == Set(1...10))
    }

    @Test("a failed batch fails each of its callers, and the next batch still runs")
    func failureReachesTheBatchOnly() async throws {
        let gate = Gate()
        let recorder = Recorder(gates: [0: gate]) { inputs in
            if inputs.contains(13) { throw CoalescerTestError("no 13") }
            return inputs.map { $0 * 10 }
        }
        try await withThrowingTaskGroup(of: (Int, Result<Int, any Error>).self) { group in
            group.addTask { (0, await outcome { try await recorder.coalescer.load(0) }) }
            try await eventually("the first batch starts") { recorder.batches.count == 1 }
            for input in [12, 13, 14] { group.addTask { (input, await outcome { try await recorder.coalescer.load(input) }) } }
            try await eventually("three callers queue") { recorder.coalescer.statistics.queued == 3 }
            await gate.release()
            for try await (input, result) in group {
                if input == 0 {
                    #expect(try result.get() == 0)
                } else {
                    #expect(throws: CoalescerTestError.self) { try result.get() }
                }
            }
        }
        #expect(try await recorder.coalescer.load(5) == 50)
        #expect(recorder.coalescer.statistics.batches == 3)
    }

    @Test("a cancelled leader fails alone: the rest of its batch runs again without it")
    func cancelledLeaderHandsOn() async throws {
        let (first, second) = (Gate(), Gate())
        let recorder = Recorder(gates: [0: first, 1: second])
        let zero = Task { try await recorder.coalescer.load(0) }
        try await eventually("the first batch starts") { recorder.batches.count == 1 }
        let leader = Task { try await recorder.coalescer.load(1) }
        try await eventually("the leader-to-be queues") { recorder.coalescer.statistics.queued == 1 }
        let others = Task {
            try await withThrowingTaskGroup(of: (Int, Int).self) { group in
                for input in [2, 3] { group.addTask { (input, try await recorder.coalescer.load(input)) } }
                return try await group.reduce(into: [Int: Int]()) { $0[$1.0] = $1.1 }
            }
        }
        try await eventually("two more callers queue") { recorder.coalescer.statistics.queued == 3 }
        await first.release()
        #expect(try await zero.value == 0)
        try await eventually("the second batch starts, led by 1") { recorder.batches.count == 2 }
        #expect(recorder.batches[1].first == 1 && Set(recorder.batches[1]) == [1, 2, 3])
        leader.cancel()
        await second.release()
        await #expect(throws: CancellationError.self) { try await leader.value }
        #expect(try await others.value == [2: 20, 3: 30])
        #expect(Set(recorder.batches.last ?? []) == [2, 3] && recorder.batches.count == 3)
    }

    @Test("a batch that answers the wrong number of outputs is an error, not a misdelivery")
    func countMismatch() async throws {
        let recorder = Recorder { _ in [1, 2] }
        await #expect(throws: StorageError.self) { try await recorder.coalescer.load(1) }
    }
}
